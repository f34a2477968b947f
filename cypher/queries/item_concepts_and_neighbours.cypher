// name: item_concepts_and_neighbours
// purpose: An item's concepts (heaviest first) and its $k nearest other items by text vector,
//   through the `item_text_embedding` vector index (score = Neo4j's cosine score, (1 + cos) / 2).
//   An item without a text_embedding still returns its concepts, with no neighbours.
// params: $item_id (string) the item's id;
//   $k (int = 10) how many nearest items
// example: ikg cypher run item_concepts_and_neighbours --param item_id=book:dune --param k=5
MATCH (item:Item {id: $item_id})
CALL (item) {
  OPTIONAL MATCH (item)-[h:HAS_CONCEPT]->(c:Concept)
  WITH c, h ORDER BY h.weight DESC, c.key
  RETURN collect(CASE WHEN c IS NOT NULL
                      THEN {key: c.key, name: c.name, weight: h.weight, source: h.source} END) AS concepts
}
CALL (item) {
  WITH item WHERE item.text_embedding IS NOT NULL
  CALL db.index.vector.queryNodes('item_text_embedding', $k + 1, item.text_embedding)
    YIELD node, score
  WITH node, score WHERE node <> item
  WITH node, score ORDER BY score DESC, node.id LIMIT $k
  RETURN collect({id: node.id, title: node.title, domain: node.domain, score: score}) AS neighbours
}
RETURN item.id AS item_id, item.title AS title, item.domain AS domain,
       item.text_embedding IS NOT NULL AS has_text_embedding, concepts, neighbours;
