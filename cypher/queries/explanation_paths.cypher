// name: explanation_paths
// purpose: Graph paths that explain why $item_id fits $user_id, best first within each kind:
//   concept:       user -INTERESTED_IN-> concept <-HAS_CONCEPT- item,
//                  score = INTERESTED_IN weight x HAS_CONCEPT weight;
//   co_interaction: user -INTERACTED-> item <-INTERACTED- other user -INTERACTED-> item,
//                  positive interactions only, score = product of the three INTERACTED weights.
//   At most $limit paths of each kind.
// params: $user_id (string) the user's id;
//   $item_id (string) the item to explain;
//   $limit (int = 10) paths per kind
// example: ikg cypher run explanation_paths --param user_id=demo-u001 --param item_id=film:arrival
MATCH (u:User {id: $user_id}), (item:Item {id: $item_id})
CALL (u, item) {
  MATCH (u)-[i:INTERESTED_IN]->(c:Concept)<-[h:HAS_CONCEPT]-(item)
  WITH u, item, c, i, h, coalesce(i.weight, 1.0) * coalesce(h.weight, 1.0) AS score
  ORDER BY score DESC, c.key LIMIT $limit
  RETURN 'concept' AS kind, score, [u.id, c.key, item.id] AS nodes,
         '(User ' + u.id + ')-[:INTERESTED_IN ' + coalesce(toString(i.weight), '?') + ']->(Concept ' + c.key +
         ')<-[:HAS_CONCEPT ' + coalesce(toString(h.weight), '?') + ']-(Item ' + item.id + ')' AS path
  UNION ALL
  MATCH (u)-[x1:INTERACTED]->(j:Item)<-[x2:INTERACTED]-(o:User)-[x3:INTERACTED]->(item)
  WHERE o <> u AND j <> item AND coalesce(x1.weight, 1.0) > 0
    AND coalesce(x2.weight, 1.0) > 0 AND coalesce(x3.weight, 1.0) > 0
  WITH u, item, j, o, x1, x2, x3, coalesce(x1.weight, 1.0) * coalesce(x2.weight, 1.0) * coalesce(x3.weight, 1.0) AS score
  ORDER BY score DESC, o.id, j.id LIMIT $limit
  RETURN 'co_interaction' AS kind, score, [u.id, j.id, o.id, item.id] AS nodes,
         '(User ' + u.id + ')-[:INTERACTED ' + coalesce(toString(x1.weight), '?') + ']->(Item ' + j.id +
         ')<-[:INTERACTED ' + coalesce(toString(x2.weight), '?') + ']-(User ' + o.id + ')-[:INTERACTED ' +
         coalesce(toString(x3.weight), '?') + ']->(Item ' + item.id + ')' AS path
}
RETURN kind, score, path, nodes
ORDER BY CASE kind WHEN 'concept' THEN 0 ELSE 1 END, score DESC, path;
