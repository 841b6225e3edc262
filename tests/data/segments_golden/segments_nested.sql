WITH w1 AS (SELECT customer_id, coalesce(sum(amount) FILTER (WHERE status NOT IN ('cancelled', 'returned')), 0) AS spend, count(*) AS orders FROM orders WHERE ordered_at >= $p5 AND ordered_at < $p6 GROUP BY customer_id) SELECT c.id FROM customers c LEFT JOIN w1 ON w1.customer_id = c.id WHERE (NOT (coalesce((c.id IN (WITH w1 AS (SELECT customer_id, coalesce(sum(amount) FILTER (WHERE status NOT IN ('cancelled', 'returned')), 0) AS spend, count(*) AS orders FROM orders WHERE ordered_at >= $p1 AND ordered_at < $p2 GROUP BY customer_id) SELECT c.id FROM customers c LEFT JOIN w1 ON w1.customer_id = c.id WHERE (coalesce((coalesce(w1.spend, 0) > $p3), false)))), false) OR ((NOT coalesce((c.id IN (SELECT c.id FROM customers c  WHERE (coalesce((lower(c.state) = lower($p4)), false)))), false)) AND coalesce((coalesce(w1.spend, 0) = $p7), false)))) ORDER BY c.id
-- params:
--   p1 = datetime.datetime(2023, 12, 1, 0, 0)
--   p2 = datetime.datetime(2024, 1, 1, 0, 0)
--   p3 = Decimal('0')
--   p4 = 'CA'
--   p5 = datetime.datetime(2024, 5, 16, 0, 0)
--   p6 = datetime.datetime(2024, 6, 16, 0, 0)
--   p7 = Decimal('0')
