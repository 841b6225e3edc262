SELECT c.id FROM customers c  WHERE (coalesce((TRY_CAST((c.attributes ->> $p1) AS BOOLEAN)), false) AND coalesce((TRY_CAST((c.attributes ->> $p2) AS DATE) >= $p3 AND TRY_CAST((c.attributes ->> $p2) AS DATE) < $p4), false) AND (NOT (TRY_CAST((c.attributes ->> $p5) AS DOUBLE) IS NULL)) AND coalesce(list_contains(list_transform($p7::VARCHAR[], lambda x: lower(x)), lower((c.attributes ->> $p6))), false) AND FALSE AND (NOT TRUE)) ORDER BY c.id
-- params:
--   p1 = '$."vip"'
--   p2 = '$."renewal"'
--   p3 = datetime.datetime(2024, 1, 1, 0, 0)
--   p4 = datetime.datetime(2025, 1, 1, 0, 0)
--   p5 = '$."score"'
--   p6 = '$."tier"'
--   p7 = ['Gold']
