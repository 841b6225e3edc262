SELECT c.id FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id WHERE ((coalesce((coalesce(s.total_spend, 0) > $p1), false) AND coalesce((TRY_CAST((c.attributes ->> $p2) AS BIGINT) < $p3), false)) OR coalesce((s.last_order_at < $p4), false)) ORDER BY c.id
-- params:
--   p1 = Decimal('10000')
--   p2 = '$."visits"'
--   p3 = 3
--   p4 = datetime.datetime(2024, 3, 17, 0, 0)
