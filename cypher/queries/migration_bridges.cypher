// name: migration_bridges
// purpose: How a user's interests carry from $source_domain into $target_domain (cold start):
//   user -> concept of an item they engaged with in the source domain (positive weight) ->
//   bridge -> item of the target domain they have not interacted with. Bridges:
//   same_concept (the target item has that concept), related_to (a RELATED_TO neighbour concept,
//   either direction) and topic (another concept of the same Topic, damped by $topic_factor).
//   interest = the user's INTERESTED_IN weight for the concept, else its HAS_CONCEPT weight on
//   the source item; path_score = interest x bridge score (RELATED_TO score, IN_TOPIC weights,
//   1 for same_concept) x the target's HAS_CONCEPT weight; item_score = sum of its path scores.
//   Paths scoring 0 (e.g. $topic_factor = 0) are left out. The best $limit items are returned,
//   each with its best $paths_per_item paths (one row per path) and `paths`, its path count.
// params: $user_id (string) the user's id;
//   $source_domain (string) domain the user has history in;
//   $target_domain (string) domain to carry the interests into;
//   $topic_factor (float = 0.5) damping of topic bridges;
//   $limit (int = 10) how many target items;
//   $paths_per_item (int = 5) how many paths to show per item
// example: ikg cypher run migration_bridges --param user_id=demo-cold --param source_domain=books --param target_domain=music
MATCH (u:User {id: $user_id})-[x:INTERACTED]->(s:Item)-[hs:HAS_CONCEPT]->(c:Concept)
WHERE s.domain = $source_domain AND coalesce(x.weight, 1.0) > 0
WITH u, c, max(coalesce(hs.weight, 1.0)) AS item_weight, collect(DISTINCT s.id) AS via_items
OPTIONAL MATCH (u)-[ui:INTERESTED_IN]->(c)
WITH u, c, via_items, coalesce(ui.weight, item_weight) AS interest
CALL (c) {
  MATCH (c)<-[ht:HAS_CONCEPT]-(t:Item)
  WHERE t.domain = $target_domain
  RETURN t, 'same_concept' AS bridge, c.key AS via, 1.0 AS bridge_score, coalesce(ht.weight, 1.0) AS target_weight
  UNION ALL
  MATCH (c)-[r:RELATED_TO]-(c2:Concept)<-[ht:HAS_CONCEPT]-(t:Item)
  WHERE c2 <> c AND t.domain = $target_domain
  RETURN t, 'related_to' AS bridge, c2.key AS via, coalesce(r.score, 1.0) AS bridge_score,
         coalesce(ht.weight, 1.0) AS target_weight
  UNION ALL
  MATCH (c)-[t1:IN_TOPIC]->(tp:Topic)<-[t2:IN_TOPIC]-(c2:Concept)<-[ht:HAS_CONCEPT]-(t:Item)
  WHERE c2 <> c AND t.domain = $target_domain
  RETURN t, 'topic' AS bridge, tp.id + ' / ' + c2.key AS via,
         $topic_factor * coalesce(t1.weight, 1.0) * coalesce(t2.weight, 1.0) AS bridge_score,
         coalesce(ht.weight, 1.0) AS target_weight
}
WITH u, c, via_items, interest, t, bridge, via, interest * bridge_score * target_weight AS path_score
WHERE path_score > 0 AND NOT EXISTS { (u)-[:INTERACTED]->(t) }
WITH t, c, via_items, interest, bridge, via, path_score
ORDER BY path_score DESC, c.key, bridge, via
WITH t, sum(path_score) AS item_score, count(*) AS paths,
     collect({concept: c.key, interest: interest, via_items: via_items, bridge: bridge, via: via,
              path_score: path_score}) AS all_paths
ORDER BY item_score DESC, t.id
LIMIT $limit
UNWIND all_paths[..$paths_per_item] AS p
RETURN t.id AS item_id, t.title AS title, item_score, paths, p.concept AS concept, p.bridge AS bridge,
       p.via AS via, p.path_score AS path_score, p.interest AS interest, p.via_items AS source_items
ORDER BY item_score DESC, item_id, path_score DESC, concept, bridge, via;
