SELECT
  *
FROM (
  SELECT
    "t4"."user_id",
    "t4"."brand",
    CASE
      WHEN "t4"."_a0_365" >= 1
      THEN 'S'
      WHEN "t4"."_a1_cycle" >= 1
      THEN 'P'
      WHEN (
        "t4"."_a2_30" >= 2
      )
      OR (
        "t4"."_a3_30" >= 1
      )
      OR (
        (
          "t4"."_a4_30" >= 1
        ) AND (
          "t4"."_a5_30" >= 1
        )
      )
      THEN 'TI'
      WHEN "t4"."_a6_30" >= 1
      THEN 'I'
      WHEN "t4"."_a7_30" >= 1
      THEN 'A'
      ELSE CAST(NULL AS TEXT)
    END AS "stage"
  FROM (
    SELECT
      "t3"."user_id",
      "t3"."brand",
      CAST(COALESCE(
        SUM(CAST("t3"."post" AS DOUBLE)) FILTER(WHERE
          "t3"."local_date" > MAKE_DATE(2023, 3, 2)),
        0
      ) AS BIGINT) AS "_a0_365",
      CAST(COALESCE(
        SUM(CAST("t3"."purchase" AS DOUBLE)) FILTER(WHERE
          DATE_DIFF('DAY', "t3"."local_date", MAKE_DATE(2024, 3, 1)) < "t3"."cycle_days"),
        0
      ) AS BIGINT) AS "_a1_cycle",
      CAST(COALESCE(
        SUM(CAST("t3"."deep_read" AS DOUBLE)) FILTER(WHERE
          "t3"."local_date" > MAKE_DATE(2024, 1, 31)),
        0
      ) AS BIGINT) AS "_a2_30",
      CAST(COALESCE(
        SUM(
          CAST("t3"."cart" + "t3"."collect" + "t3"."comment" + "t3"."screenshot" + "t3"."share" + "t3"."store_visit" AS DOUBLE)
        ) FILTER(WHERE
          "t3"."local_date" > MAKE_DATE(2024, 1, 31)),
        0
      ) AS BIGINT) AS "_a3_30",
      CAST(COALESCE(
        SUM(CAST("t3"."search" AS DOUBLE)) FILTER(WHERE
          "t3"."local_date" > MAKE_DATE(2024, 1, 31)),
        0
      ) AS BIGINT) AS "_a4_30",
      CAST(COALESCE(
        SUM(CAST("t3"."read" AS DOUBLE)) FILTER(WHERE
          "t3"."local_date" > MAKE_DATE(2024, 1, 31)),
        0
      ) AS BIGINT) AS "_a5_30",
      CAST(COALESCE(
        SUM(CAST("t3"."follow" + "t3"."like" + "t3"."read" + "t3"."search" AS DOUBLE)) FILTER(WHERE
          "t3"."local_date" > MAKE_DATE(2024, 1, 31)),
        0
      ) AS BIGINT) AS "_a6_30",
      CAST(COALESCE(
        SUM(CAST("t3"."impression" AS DOUBLE)) FILTER(WHERE
          "t3"."local_date" > MAKE_DATE(2024, 1, 31)),
        0
      ) AS BIGINT) AS "_a7_30"
    FROM (
      SELECT
        "t2"."user_id",
        "t2"."brand",
        "t2"."spu",
        "t2"."category",
        "t2"."local_date",
        "t2"."impression",
        "t2"."read",
        "t2"."search",
        "t2"."like",
        "t2"."follow",
        "t2"."collect",
        "t2"."comment",
        "t2"."share",
        "t2"."screenshot",
        "t2"."cart",
        "t2"."store_visit",
        "t2"."deep_read",
        "t2"."purchase",
        "t2"."post",
        CAST(CASE "t2"."category"
          WHEN 'facial_serum'
          THEN 29
          WHEN 'infant_food'
          THEN 70
          ELSE 30
        END AS BIGINT) AS "cycle_days"
      FROM (
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
      ) AS "t2"
      WHERE
        "t2"."local_date" <= MAKE_DATE(2024, 3, 1)
        AND "t2"."local_date" > MAKE_DATE(2023, 3, 2)
    ) AS "t3"
    GROUP BY
      1,
      2
  ) AS "t4"
) AS "t5"
WHERE
  "t5"."stage" IS NOT NULL
