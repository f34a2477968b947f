// name: user_top_interests
// purpose: A user's strongest interest points (concepts), heaviest first, with the weight and
//   provenance of the INTERESTED_IN edge and the topics each concept belongs to.
// params: $user_id (string) the user's id;
//   $limit (int = 20) how many concepts to return
// example: ikg cypher run user_top_interests --param user_id=demo-u001
MATCH (u:User {id: $user_id})-[i:INTERESTED_IN]->(c:Concept)
CALL (c) {
  OPTIONAL MATCH (c)-[it:IN_TOPIC]->(t:Topic)
  WITH t, it ORDER BY it.weight DESC, t.id
  RETURN collect(t.id) AS topic_ids, collect(coalesce(t.name, t.id)) AS topics
}
RETURN c.key AS concept, c.name AS name, i.weight AS weight, i.source AS source,
       i.domains AS domains, topics, topic_ids
ORDER BY weight DESC, concept
LIMIT $limit;
