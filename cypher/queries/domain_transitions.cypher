// name: domain_transitions
// purpose: The strongest learned transitions from $source_domain to $target_domain: LEADS_TO
//   edges concept -> concept, learned by the refresh from users active in both domains (weight =
//   shrunk PMI, support = how many such users engaged with both concepts), best weight first,
//   each with up to $examples items of either side (most engaged-with first).
// params: $source_domain (string) domain the interest comes from;
//   $target_domain (string) domain it leads into;
//   $min_support (int = 1) leave out edges with fewer users behind them;
//   $limit (int = 25) how many transitions;
//   $examples (int = 3) example items per side
// example: ikg cypher run domain_transitions --param source_domain=books --param target_domain=films
MATCH (c:Concept)-[t:LEADS_TO]->(d:Concept)
WHERE t.source_domain = $source_domain AND t.target_domain = $target_domain
  AND coalesce(t.support, 0) >= $min_support
WITH c, d, t
ORDER BY t.weight DESC, t.support DESC, c.key, d.key
LIMIT $limit
CALL (c) {
  MATCH (c)<-[:HAS_CONCEPT]-(i:Item)
  WHERE i.domain = $source_domain
  WITH i, COUNT { (:User)-[x:INTERACTED]->(i) WHERE coalesce(x.weight, 1.0) > 0 } AS users
  ORDER BY users DESC, i.id
  LIMIT $examples
  RETURN collect(i.id) AS source_items
}
CALL (d) {
  MATCH (d)<-[:HAS_CONCEPT]-(i:Item)
  WHERE i.domain = $target_domain
  WITH i, COUNT { (:User)-[x:INTERACTED]->(i) WHERE coalesce(x.weight, 1.0) > 0 } AS users
  ORDER BY users DESC, i.id
  LIMIT $examples
  RETURN collect(i.id) AS target_items
}
RETURN c.key AS source_concept, c.name AS source_name, d.key AS target_concept, d.name AS target_name,
       t.weight AS weight, t.support AS support, source_items, target_items
ORDER BY weight DESC, support DESC, source_concept, target_concept;
