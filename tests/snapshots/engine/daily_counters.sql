SELECT
  "t1"."user_id",
  "t1"."brand",
  "t1"."spu",
  "t1"."category",
  "t1"."local_date",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('impression')) AS "impression",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('read')) AS "read",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('search')) AS "search",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('like')) AS "like",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('follow')) AS "follow",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('collect')) AS "collect",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('comment')) AS "comment",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('share')) AS "share",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('screenshot')) AS "screenshot",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('cart')) AS "cart",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('store_visit')) AS "store_visit",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('read')
    AND COALESCE(
      (
        COALESCE("t1"."dwell_s", 0) >= 5
      )
      OR (
        COALESCE("t1"."completion", 0) >= 0.5
      ),
      FALSE
    )) AS "deep_read",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('purchase')) AS "purchase",
  COUNT(*) FILTER(WHERE
    "t1"."event_type" IN ('post')) AS "post"
FROM (
  SELECT
    *
  FROM "events" AS "t0"
  WHERE
    "t0"."event_type" IN (
      'cart',
      'collect',
      'comment',
      'follow',
      'impression',
      'like',
      'post',
      'purchase',
      'read',
      'screenshot',
      'search',
      'share',
      'store_visit'
    )
) AS "t1"
GROUP BY
  1,
  2,
  3,
  4,
  5
