// name: topic_communities
// purpose: Topics (clusters of concepts) with their size, the domains their concepts' items
//   fall in, how many users hold one of their concepts, and the concepts that span at least
//   $min_domains domains (the cross-domain bridges inside a topic). `size` counts IN_TOPIC
//   edges; `stored_size` is the Topic's own `size` property as the builder wrote it.
// params: $min_domains (int = 2) domains a concept's items must span to be listed;
//   $limit (int = 100) how many topics to return
// example: ikg cypher run topic_communities --param min_domains=2
MATCH (t:Topic)
CALL (t) {
  OPTIONAL MATCH (c:Concept)-[:IN_TOPIC]->(t)
  CALL (c) {
    OPTIONAL MATCH (c)<-[:HAS_CONCEPT]-(i:Item)
    WITH DISTINCT i.domain AS d WHERE d IS NOT NULL
    WITH d ORDER BY d
    RETURN collect(d) AS c_domains
  }
  WITH c, c_domains ORDER BY size(c_domains) DESC, c.key
  RETURN count(c) AS size,
         collect(CASE WHEN c IS NOT NULL AND size(c_domains) >= $min_domains
                      THEN {key: c.key, name: c.name, domains: c_domains} END) AS cross_domain_concepts
}
CALL (t) {
  OPTIONAL MATCH (t)<-[:IN_TOPIC]-(:Concept)<-[:HAS_CONCEPT]-(i:Item)
  WITH DISTINCT i.domain AS d WHERE d IS NOT NULL
  WITH d ORDER BY d
  RETURN collect(d) AS domains
}
CALL (t) {
  OPTIONAL MATCH (t)<-[:IN_TOPIC]-(:Concept)<-[:INTERESTED_IN]-(u:User)
  RETURN count(DISTINCT u) AS users
}
RETURN t.id AS topic_id, t.name AS name, size, t.size AS stored_size, domains, users,
       cross_domain_concepts
ORDER BY size DESC, topic_id
LIMIT $limit;
