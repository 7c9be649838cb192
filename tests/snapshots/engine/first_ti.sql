SELECT
  "t14"."user_id",
  "t14"."brand",
  MIN("t14"."start_date") AS "first_date"
FROM (
  SELECT
    "t13"."user_id",
    "t13"."brand",
    MAKE_DATE(1970, 1, 1) + TO_DAYS("t13"."day") AS "start_date",
    MAKE_DATE(1970, 1, 1) + TO_DAYS("t13"."_next" - 1) AS "end_date",
    "t13"."stage"
  FROM (
    SELECT
      "t12"."user_id",
      "t12"."brand",
      "t12"."day",
      "t12"."stage",
      LEAD("t12"."day") OVER (
        PARTITION BY "t12"."user_id", "t12"."brand"
        ORDER BY "t12"."day" ASC
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) AS "_next"
    FROM (
      SELECT
        "t11"."user_id",
        "t11"."brand",
        "t11"."day",
        "t11"."stage"
      FROM (
        SELECT
          "t10"."user_id",
          "t10"."brand",
          "t10"."day",
          "t10"."next_day",
          "t10"."stage",
          LAG("t10"."stage") OVER (
            PARTITION BY "t10"."user_id", "t10"."brand"
            ORDER BY "t10"."day" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          ) AS "_prev"
        FROM (
          SELECT
            "t9"."user_id",
            "t9"."brand",
            "t9"."day",
            "t9"."next_day",
            CASE
              WHEN "t9"."_a0" >= 1
              THEN 'S'
              WHEN "t9"."_a1" >= 1
              THEN 'P'
              WHEN (
                "t9"."_a2" >= 2
              )
              OR (
                "t9"."_a3" >= 1
              )
              OR (
                (
                  "t9"."_a4" >= 1
                ) AND (
                  "t9"."_a5" >= 1
                )
              )
              THEN 'TI'
              WHEN "t9"."_a6" >= 1
              THEN 'I'
              WHEN "t9"."_a7" >= 1
              THEN 'A'
              ELSE CAST(NULL AS TEXT)
            END AS "stage"
          FROM (
            SELECT
              "t8"."user_id",
              "t8"."brand",
              "t8"."day",
              LEAD("t8"."day") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) AS "next_day",
              SUM("t8"."_a0") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) AS "_a0",
              SUM("t8"."_a1") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) AS "_a1",
              SUM("t8"."_a2") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) AS "_a2",
              SUM("t8"."_a3") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) AS "_a3",
              SUM("t8"."_a4") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) AS "_a4",
              SUM("t8"."_a5") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) AS "_a5",
              SUM("t8"."_a6") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) AS "_a6",
              SUM("t8"."_a7") OVER (
                PARTITION BY "t8"."user_id", "t8"."brand"
                ORDER BY "t8"."day" ASC
                RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
              ) AS "_a7"
            FROM (
              SELECT
                *
              FROM (
                SELECT
                  "t6"."user_id",
                  "t6"."brand",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN "t6"."_dn" + 30
                    WHEN "t2"."_piece" = 2
                    THEN "t6"."_dn" + 365
                    WHEN "t2"."_piece" = 3
                    THEN "t6"."_dn" + "t6"."cycle_days"
                    ELSE "t6"."_dn"
                  END AS "day",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN 0
                    WHEN "t2"."_piece" = 2
                    THEN -(
                      "t6"."post"
                    )
                    WHEN "t2"."_piece" = 3
                    THEN 0
                    ELSE "t6"."post"
                  END AS "_a0",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN 0
                    WHEN "t2"."_piece" = 2
                    THEN 0
                    WHEN "t2"."_piece" = 3
                    THEN -(
                      "t6"."purchase"
                    )
                    ELSE "t6"."purchase"
                  END AS "_a1",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN -(
                      "t6"."deep_read"
                    )
                    WHEN "t2"."_piece" = 2
                    THEN 0
                    WHEN "t2"."_piece" = 3
                    THEN 0
                    ELSE "t6"."deep_read"
                  END AS "_a2",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN -(
                      "t6"."cart" + "t6"."collect" + "t6"."comment" + "t6"."screenshot" + "t6"."share" + "t6"."store_visit"
                    )
                    WHEN "t2"."_piece" = 2
                    THEN 0
                    WHEN "t2"."_piece" = 3
                    THEN 0
                    ELSE "t6"."cart" + "t6"."collect" + "t6"."comment" + "t6"."screenshot" + "t6"."share" + "t6"."store_visit"
                  END AS "_a3",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN -(
                      "t6"."search"
                    )
                    WHEN "t2"."_piece" = 2
                    THEN 0
                    WHEN "t2"."_piece" = 3
                    THEN 0
                    ELSE "t6"."search"
                  END AS "_a4",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN -(
                      "t6"."read"
                    )
                    WHEN "t2"."_piece" = 2
                    THEN 0
                    WHEN "t2"."_piece" = 3
                    THEN 0
                    ELSE "t6"."read"
                  END AS "_a5",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN -(
                      "t6"."follow" + "t6"."like" + "t6"."read" + "t6"."search"
                    )
                    WHEN "t2"."_piece" = 2
                    THEN 0
                    WHEN "t2"."_piece" = 3
                    THEN 0
                    ELSE "t6"."follow" + "t6"."like" + "t6"."read" + "t6"."search"
                  END AS "_a6",
                  CASE
                    WHEN "t2"."_piece" = 1
                    THEN -(
                      "t6"."impression"
                    )
                    WHEN "t2"."_piece" = 2
                    THEN 0
                    WHEN "t2"."_piece" = 3
                    THEN 0
                    ELSE "t6"."impression"
                  END AS "_a7"
                FROM (
                  SELECT
                    "t4"."user_id",
                    "t4"."brand",
                    "t4"."spu",
                    "t4"."category",
                    "t4"."local_date",
                    "t4"."impression",
                    "t4"."read",
                    "t4"."search",
                    "t4"."like",
                    "t4"."follow",
                    "t4"."collect",
                    "t4"."comment",
                    "t4"."share",
                    "t4"."screenshot",
                    "t4"."cart",
                    "t4"."store_visit",
                    "t4"."deep_read",
                    "t4"."purchase",
                    "t4"."post",
                    CAST(CASE "t4"."category"
                      WHEN 'facial_serum'
                      THEN 29
                      WHEN 'infant_food'
                      THEN 70
                      ELSE 30
                    END AS BIGINT) AS "cycle_days",
                    DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t4"."local_date") AS "_dn"
                  FROM (
                    SELECT
                      "t3"."user_id",
                      "t3"."brand",
                      "t3"."spu",
                      "t3"."category",
                      "t3"."local_date",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('impression')) AS "impression",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('read')) AS "read",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('search')) AS "search",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('like')) AS "like",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('follow')) AS "follow",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('collect')) AS "collect",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('comment')) AS "comment",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('share')) AS "share",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('screenshot')) AS "screenshot",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('cart')) AS "cart",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('store_visit')) AS "store_visit",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('read')
                        AND COALESCE(
                          (
                            COALESCE("t3"."dwell_s", 0) >= 5
                          )
                          OR (
                            COALESCE("t3"."completion", 0) >= 0.5
                          ),
                          FALSE
                        )) AS "deep_read",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('purchase')) AS "purchase",
                      COUNT(*) FILTER(WHERE
                        "t3"."event_type" IN ('post')) AS "post"
                    FROM (
                      SELECT
                        *
                      FROM "events" AS "t1"
                      WHERE
                        "t1"."event_type" IN (
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
                    ) AS "t3"
                    GROUP BY
                      1,
                      2,
                      3,
                      4,
                      5
                  ) AS "t4"
                ) AS "t6"
                CROSS JOIN "ibis_pandas_memtable" AS "t2"
              ) AS "t7"
              WHERE
                (
                  "t7"."_a0" <> 0
                )
                OR (
                  "t7"."_a1" <> 0
                )
                OR (
                  "t7"."_a2" <> 0
                )
                OR (
                  "t7"."_a3" <> 0
                )
                OR (
                  "t7"."_a4" <> 0
                )
                OR (
                  "t7"."_a5" <> 0
                )
                OR (
                  "t7"."_a6" <> 0
                )
                OR (
                  "t7"."_a7" <> 0
                )
            ) AS "t8"
          ) AS "t9"
        ) AS "t10"
      ) AS "t11"
      WHERE
        NOT (
          "t11"."stage" IS NOT DISTINCT FROM "t11"."_prev"
        )
    ) AS "t12"
  ) AS "t13"
  WHERE
    "t13"."stage" IS NOT NULL AND "t13"."stage" IN ('S', 'P', 'TI')
) AS "t14"
GROUP BY
  1,
  2
