INSERT INTO t VALUES (1, 'a'), (2, 'b') -- alice
/* a /* nested */ 4111 */