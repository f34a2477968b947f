// interest-kg graph schema for Neo4j 5.x: applied idempotently whenever a Neo4j store opens.
//
// Nodes (key property first):
//   (:User    {id, name, first_ts, last_ts, embedding, text_embedding, model_version})
//   (:Item    {id, domain, title, description, categories, tags, popularity, embedding, text_embedding, model_version})
//   (:Domain  {name})
//   (:Concept {key, name, aliases, df, origin, embedding, text_embedding, model_version})
//   (:Topic   {id, name, size, domains, embedding, text_embedding, model_version})
// Relationships:
//   (:User)-[:INTERACTED {kind, weight, count, rating, first_ts, last_ts}]->(:Item)
//   (:User)-[:INTERESTED_IN {weight, source, updated, domains}]->(:Concept)
//   (:Item)-[:HAS_CONCEPT {weight, source}]->(:Concept)
//   (:Item)-[:IN_DOMAIN]->(:Domain)
//   (:Concept)-[:IN_TOPIC {weight}]->(:Topic)
//   (:Concept)-[:RELATED_TO {score}]->(:Concept)
//   (:Concept)-[:LEADS_TO {weight, support, source_domain, target_domain}]->(:Concept)
// Internal: (:IkgMeta {key, value}) holds markers such as the active model version.
//
// `text_embedding` holds 384-d MiniLM vectors; `embedding` holds the GNN vectors (64-d).
// Statements are separated by semicolons at line ends; comments start with //.

CREATE CONSTRAINT user_id IF NOT EXISTS FOR (n:User) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT item_id IF NOT EXISTS FOR (n:Item) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT domain_name IF NOT EXISTS FOR (n:Domain) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT concept_key IF NOT EXISTS FOR (n:Concept) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT topic_id IF NOT EXISTS FOR (n:Topic) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT ikg_meta_key IF NOT EXISTS FOR (n:IkgMeta) REQUIRE n.key IS UNIQUE;

CREATE INDEX item_domain IF NOT EXISTS FOR (n:Item) ON (n.domain);
CREATE INDEX item_title IF NOT EXISTS FOR (n:Item) ON (n.title);
CREATE INDEX concept_name IF NOT EXISTS FOR (n:Concept) ON (n.name);
CREATE INDEX topic_name IF NOT EXISTS FOR (n:Topic) ON (n.name);
CREATE INDEX interacted_kind IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.kind);

CREATE VECTOR INDEX item_text_embedding IF NOT EXISTS FOR (n:Item) ON (n.text_embedding)
  OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}};
CREATE VECTOR INDEX concept_text_embedding IF NOT EXISTS FOR (n:Concept) ON (n.text_embedding)
  OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}};
CREATE VECTOR INDEX user_embedding IF NOT EXISTS FOR (n:User) ON (n.embedding)
  OPTIONS {indexConfig: {`vector.dimensions`: 64, `vector.similarity_function`: 'cosine'}};
CREATE VECTOR INDEX item_embedding IF NOT EXISTS FOR (n:Item) ON (n.embedding)
  OPTIONS {indexConfig: {`vector.dimensions`: 64, `vector.similarity_function`: 'cosine'}};
CREATE VECTOR INDEX concept_embedding IF NOT EXISTS FOR (n:Concept) ON (n.embedding)
  OPTIONS {indexConfig: {`vector.dimensions`: 64, `vector.similarity_function`: 'cosine'}};
