// name: interest_drift
// purpose: How a user's interests move over time. Their interactions are bucketed into windows
//   of $window_days days (epoch-aligned, by the INTERACTED edge's last_ts, else first_ts; edges
//   without a timestamp are left out). Per window: the interactions, the concepts of those
//   items with weight = sum of INTERACTED weight x HAS_CONCEPT weight (dislikes count negative),
//   each concept's change against the previous window that had activity (new concepts change
//   by their whole weight), and the concepts of that previous window that disappeared.
// params: $user_id (string) the user's id;
//   $window_days (float = 30) window length in days;
//   $top (int = 10) concepts listed per window
// example: ikg cypher run interest_drift --param user_id=demo-u001 --param window_days=7
MATCH (u:User {id: $user_id})-[x:INTERACTED]->(i:Item)
WITH x, i, coalesce(x.last_ts, x.first_ts) AS ts
WHERE ts IS NOT NULL
WITH x, i, toInteger(floor(ts / ($window_days * 86400.0))) AS w
OPTIONAL MATCH (i)-[h:HAS_CONCEPT]->(c:Concept)
WITH w, c, sum(coalesce(x.weight, 1.0) * coalesce(h.weight, 1.0)) AS weight, collect(DISTINCT i.id) AS items
WITH w, c, weight, items ORDER BY w, weight DESC, c.key
WITH w, collect(CASE WHEN c IS NOT NULL THEN {key: c.key, weight: weight} END) AS concepts,
     reduce(acc = [], ids IN collect(items) | acc + [id IN ids WHERE NOT id IN acc]) AS window_items
ORDER BY w
WITH collect({w: w, concepts: concepts, items: window_items}) AS windows
UNWIND range(0, size(windows) - 1) AS n
WITH windows[n] AS cur, CASE WHEN n > 0 THEN windows[n - 1].concepts ELSE [] END AS prev
WITH cur, prev, [p IN prev | p.key] AS prev_keys, [c IN cur.concepts | c.key] AS cur_keys
RETURN cur.w * $window_days * 86400.0 AS window_start_ts,
       toString(date(datetime({epochSeconds: toInteger(cur.w * $window_days * 86400.0)}))) AS window_start,
       size(cur.items) AS interactions,
       [c IN cur.concepts |
         {key: c.key, weight: c.weight,
          change: c.weight - coalesce(head([p IN prev WHERE p.key = c.key | p.weight]), 0.0)}][..$top] AS concepts,
       [k IN cur_keys WHERE NOT k IN prev_keys] AS new_concepts,
       [k IN prev_keys WHERE NOT k IN cur_keys] AS dropped_concepts
ORDER BY window_start_ts;
