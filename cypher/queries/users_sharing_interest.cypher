// name: users_sharing_interest
// purpose: Users who share interest points (concepts) with a user, ranked by overlap:
//   overlap = sum over shared concepts of the smaller of the two INTERESTED_IN weights;
//   jaccard = shared / (concepts of one + concepts of the other - shared).
//   Give $concept (a Concept key) to look at one shared interest only.
// params: $user_id (string) the user's id;
//   $concept (string = null) only users sharing this concept key;
//   $limit (int = 20) how many users to return
// example: ikg cypher run users_sharing_interest --param user_id=demo-u001 --param limit=10
MATCH (u:User {id: $user_id})-[a:INTERESTED_IN]->(c:Concept)<-[b:INTERESTED_IN]-(other:User)
WHERE other <> u AND ($concept IS NULL OR c.key = $concept)
WITH u, other, c, CASE WHEN a.weight < b.weight THEN a.weight ELSE b.weight END AS shared_weight
ORDER BY shared_weight DESC, c.key
WITH u, other, count(c) AS shared, sum(shared_weight) AS overlap, collect(c.key) AS shared_concepts
WITH other, shared, overlap, shared_concepts,
     COUNT { (u)-[:INTERESTED_IN]->(:Concept) } AS mine,
     COUNT { (other)-[:INTERESTED_IN]->(:Concept) } AS theirs
RETURN other.id AS user_id, shared, overlap,
       toFloat(shared) / (mine + theirs - shared) AS jaccard, shared_concepts
ORDER BY overlap DESC, shared DESC, user_id
LIMIT $limit;
