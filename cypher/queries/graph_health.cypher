// name: graph_health
// purpose: A health check of the whole graph, one row per measure (check, name, value):
//   node counts per schema label, relationship counts per schema type (LEADS_TO included),
//   nodes with a label outside the schema, orphan nodes (no relationship at all) per label,
//   items without a GNN `embedding` or a `text_embedding`, items without an IN_DOMAIN edge or
//   whose `domain` property disagrees with it, and the active model version ((:IkgMeta {key: 'active_version'})).
// params: none
// example: ikg cypher run graph_health
CALL () {
  UNWIND [
    {check: 'nodes', name: 'User', value: COUNT { (:User) }},
    {check: 'nodes', name: 'Item', value: COUNT { (:Item) }},
    {check: 'nodes', name: 'Domain', value: COUNT { (:Domain) }},
    {check: 'nodes', name: 'Concept', value: COUNT { (:Concept) }},
    {check: 'nodes', name: 'Topic', value: COUNT { (:Topic) }},
    {check: 'nodes', name: 'IkgMeta', value: COUNT { (:IkgMeta) }},
    {check: 'relationships', name: 'INTERACTED', value: COUNT { ()-[:INTERACTED]->() }},
    {check: 'relationships', name: 'INTERESTED_IN', value: COUNT { ()-[:INTERESTED_IN]->() }},
    {check: 'relationships', name: 'HAS_CONCEPT', value: COUNT { ()-[:HAS_CONCEPT]->() }},
    {check: 'relationships', name: 'IN_DOMAIN', value: COUNT { ()-[:IN_DOMAIN]->() }},
    {check: 'relationships', name: 'IN_TOPIC', value: COUNT { ()-[:IN_TOPIC]->() }},
    {check: 'relationships', name: 'RELATED_TO', value: COUNT { ()-[:RELATED_TO]->() }},
    {check: 'relationships', name: 'LEADS_TO', value: COUNT { ()-[:LEADS_TO]->() }}
  ] AS row
  RETURN row.check AS check, row.name AS name, row.value AS value, 0 AS section
  UNION ALL
  MATCH (n)
  WHERE none(l IN labels(n) WHERE l IN ['User', 'Item', 'Domain', 'Concept', 'Topic', 'IkgMeta'])
  UNWIND CASE WHEN size(labels(n)) = 0 THEN ['(no label)'] ELSE labels(n) END AS label
  RETURN 'unknown_label_nodes' AS check, label AS name, count(*) AS value, 1 AS section
  UNION ALL
  MATCH (n)
  WHERE NOT n:IkgMeta AND NOT EXISTS { (n)--() }
  UNWIND labels(n) AS label
  RETURN 'orphan_nodes' AS check, label AS name, count(*) AS value, 2 AS section
  UNION ALL
  MATCH (i:Item)
  RETURN 'items' AS check, 'without_embedding' AS name, count(CASE WHEN i.embedding IS NULL THEN 1 END) AS value,
         3 AS section
  UNION ALL
  MATCH (i:Item)
  RETURN 'items' AS check, 'without_text_embedding' AS name,
         count(CASE WHEN i.text_embedding IS NULL THEN 1 END) AS value, 4 AS section
  UNION ALL
  MATCH (i:Item)
  RETURN 'items' AS check, 'without_in_domain' AS name,
         count(CASE WHEN NOT EXISTS { (i)-[:IN_DOMAIN]->(:Domain) } THEN 1 END) AS value, 5 AS section
  UNION ALL
  MATCH (i:Item)-[:IN_DOMAIN]->(d:Domain)
  RETURN 'items' AS check, 'domain_property_mismatch' AS name,
         count(CASE WHEN i.domain IS NULL OR i.domain <> d.name THEN 1 END) AS value, 6 AS section
  UNION ALL
  OPTIONAL MATCH (m:IkgMeta {key: 'active_version'})
  RETURN 'meta' AS check, 'active_version' AS name, m.value AS value, 7 AS section
}
RETURN check, name, value
ORDER BY section, check, name;
