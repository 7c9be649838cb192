WITH "t4" AS (
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
  ) AS "t3"
  GROUP BY
    1,
    2,
    3,
    4,
    5
)
SELECT
  "t23"."user_id",
  "t23"."brand",
  MAKE_DATE(1970, 1, 1) + TO_DAYS("t23"."day") AS "start_date",
  MAKE_DATE(1970, 1, 1) + TO_DAYS("t23"."_next" - 1) AS "end_date",
  "t23"."stage"
FROM (
  SELECT
    "t22"."user_id",
    "t10"."brand",
    "t22"."day",
    "t22"."_next",
    "t22"."stage"
  FROM (
    SELECT
      "t20"."user_id",
      (
        "t20"."day" & 4194303
      ) - 2097152 AS "day",
      "t20"."stage",
      "t20"."day" >> 22 AS "_e",
      (
        CASE
          WHEN (
            LEAD("t20"."day") OVER (
              PARTITION BY "t20"."user_id"
              ORDER BY "t20"."day" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) >> 22
          ) = (
            "t20"."day" >> 22
          )
          THEN LEAD("t20"."day") OVER (
            PARTITION BY "t20"."user_id"
            ORDER BY "t20"."day" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          )
          ELSE CAST(NULL AS BIGINT)
        END & 4194303
      ) - 2097152 AS "_next"
    FROM (
      SELECT
        "t19"."user_id",
        "t19"."day",
        CASE
          WHEN "t19"."_rank" = 5
          THEN 'S'
          WHEN "t19"."_rank" = 4
          THEN 'P'
          WHEN "t19"."_rank" = 3
          THEN 'TI'
          WHEN "t19"."_rank" = 2
          THEN 'I'
          WHEN "t19"."_rank" = 1
          THEN 'A'
          ELSE CAST(NULL AS TEXT)
        END AS "stage"
      FROM (
        SELECT
          "t18"."user_id",
          "t18"."day",
          CASE
            WHEN (
              (
                "t18"."_w0" >> 0
              ) & 1023
            ) >= 1
            THEN 5
            WHEN (
              (
                "t18"."_w0" >> 10
              ) & 511
            ) >= 1
            THEN 4
            WHEN (
              (
                (
                  "t18"."_w0" >> 19
                ) & 255
              ) >= 2
            )
            OR (
              (
                (
                  "t18"."_w0" >> 27
                ) & 127
              ) >= 1
            )
            OR (
              (
                (
                  (
                    "t18"."_w0" >> 34
                  ) & 127
                ) >= 1
              )
              AND (
                (
                  (
                    "t18"."_w0" >> 41
                  ) & 127
                ) >= 1
              )
            )
            THEN 3
            WHEN (
              (
                "t18"."_w0" >> 48
              ) & 127
            ) >= 1
            THEN 2
            WHEN (
              (
                "t18"."_w0" >> 55
              ) & 127
            ) >= 1
            THEN 1
            ELSE 0
          END AS "_rank",
          CASE
            WHEN (
              (
                (
                  "t18"."_w0" - "t18"."_d_w0"
                ) >> 0
              ) & 1023
            ) >= 1
            THEN 5
            WHEN (
              (
                (
                  "t18"."_w0" - "t18"."_d_w0"
                ) >> 10
              ) & 511
            ) >= 1
            THEN 4
            WHEN (
              (
                (
                  (
                    "t18"."_w0" - "t18"."_d_w0"
                  ) >> 19
                ) & 255
              ) >= 2
            )
            OR (
              (
                (
                  (
                    "t18"."_w0" - "t18"."_d_w0"
                  ) >> 27
                ) & 127
              ) >= 1
            )
            OR (
              (
                (
                  (
                    (
                      "t18"."_w0" - "t18"."_d_w0"
                    ) >> 34
                  ) & 127
                ) >= 1
              )
              AND (
                (
                  (
                    (
                      "t18"."_w0" - "t18"."_d_w0"
                    ) >> 41
                  ) & 127
                ) >= 1
              )
            )
            THEN 3
            WHEN (
              (
                (
                  "t18"."_w0" - "t18"."_d_w0"
                ) >> 48
              ) & 127
            ) >= 1
            THEN 2
            WHEN (
              (
                (
                  "t18"."_w0" - "t18"."_d_w0"
                ) >> 55
              ) & 127
            ) >= 1
            THEN 1
            ELSE 0
          END AS "_prev"
        FROM (
          SELECT
            "t17"."user_id",
            "t17"."day",
            (
              LAG("t17"."day") OVER (
                PARTITION BY "t17"."user_id"
                ORDER BY "t17"."day" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) IS NULL
            )
            OR (
              LAG("t17"."day") OVER (
                PARTITION BY "t17"."user_id"
                ORDER BY "t17"."day" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) <> "t17"."day"
            ) AS "_first",
            CAST(SUM("t17"."_w0") OVER (
              PARTITION BY "t17"."user_id"
              ORDER BY "t17"."day" ASC
              RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) AS BIGINT) AS "_w0",
            CAST(SUM("t17"."_w0") OVER (
              PARTITION BY "t17"."user_id"
              ORDER BY "t17"."day" ASC
              RANGE BETWEEN CURRENT ROW AND CURRENT ROW
            ) AS BIGINT) AS "_d_w0"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t15"."user_id",
                CASE
                  WHEN "t2"."_piece" = 1
                  THEN "t15"."_dn" + 30
                  WHEN "t2"."_piece" = 2
                  THEN "t15"."_dn" + 365
                  WHEN "t2"."_piece" = 3
                  THEN "t15"."_dn" + "t15"."cycle_days"
                  ELSE "t15"."_dn"
                END AS "day",
                CASE
                  WHEN "t2"."_piece" = 1
                  THEN "t15"."_p1_w0"
                  WHEN "t2"."_piece" = 2
                  THEN "t15"."_p2_w0"
                  WHEN "t2"."_piece" = 3
                  THEN "t15"."_p3_w0"
                  ELSE "t15"."_p0_w0"
                END AS "_w0"
              FROM (
                SELECT
                  "t13"."user_id",
                  "t13"."_dn",
                  "t13"."cycle_days",
                  (
                    LEAST("t13"."post", 1) * 1
                  ) + (
                    LEAST("t13"."purchase", 1) * 1024
                  ) + (
                    LEAST("t13"."deep_read", 2) * 524288
                  ) + (
                    LEAST(
                      "t13"."cart" + "t13"."collect" + "t13"."comment" + "t13"."screenshot" + "t13"."share" + "t13"."store_visit",
                      1
                    ) * 134217728
                  ) + (
                    LEAST("t13"."search", 1) * 17179869184
                  ) + (
                    LEAST("t13"."read", 1) * 2199023255552
                  ) + (
                    LEAST("t13"."follow" + "t13"."like" + "t13"."read" + "t13"."search", 1) * 281474976710656
                  ) + (
                    LEAST("t13"."impression", 1) * 36028797018963968
                  ) AS "_p0_w0",
                  -(
                    (
                      LEAST("t13"."deep_read", 2) * 524288
                    ) + (
                      LEAST(
                        "t13"."cart" + "t13"."collect" + "t13"."comment" + "t13"."screenshot" + "t13"."share" + "t13"."store_visit",
                        1
                      ) * 134217728
                    ) + (
                      LEAST("t13"."search", 1) * 17179869184
                    ) + (
                      LEAST("t13"."read", 1) * 2199023255552
                    ) + (
                      LEAST("t13"."follow" + "t13"."like" + "t13"."read" + "t13"."search", 1) * 281474976710656
                    ) + (
                      LEAST("t13"."impression", 1) * 36028797018963968
                    )
                  ) AS "_p1_w0",
                  -(
                    LEAST("t13"."post", 1) * 1
                  ) AS "_p2_w0",
                  -(
                    LEAST("t13"."purchase", 1) * 1024
                  ) AS "_p3_w0"
                FROM (
                  SELECT
                    "t12".*
                    EXCLUDE ("_e")
                  FROM (
                    SELECT
                      "t11"."user_id",
                      "t11"."brand",
                      "t11"."spu",
                      "t11"."category",
                      "t11"."local_date",
                      "t11"."impression",
                      "t11"."read",
                      "t11"."search",
                      "t11"."like",
                      "t11"."follow",
                      "t11"."collect",
                      "t11"."comment",
                      "t11"."share",
                      "t11"."screenshot",
                      "t11"."cart",
                      "t11"."store_visit",
                      "t11"."deep_read",
                      "t11"."purchase",
                      "t11"."post",
                      "t11"."cycle_days",
                      "t11"."_dn" + (
                        "t11"."_e" * 4194304
                      ) + 2097152 AS "_dn",
                      "t11"."_e"
                    FROM (
                      SELECT
                        "t8"."user_id",
                        "t8"."brand",
                        "t8"."spu",
                        "t8"."category",
                        "t8"."local_date",
                        "t8"."impression",
                        "t8"."read",
                        "t8"."search",
                        "t8"."like",
                        "t8"."follow",
                        "t8"."collect",
                        "t8"."comment",
                        "t8"."share",
                        "t8"."screenshot",
                        "t8"."cart",
                        "t8"."store_visit",
                        "t8"."deep_read",
                        "t8"."purchase",
                        "t8"."post",
                        "t8"."cycle_days",
                        "t8"."_dn",
                        "t10"."_e"
                      FROM (
                        SELECT
                          "t5"."user_id",
                          "t5"."brand",
                          "t5"."spu",
                          "t5"."category",
                          "t5"."local_date",
                          "t5"."impression",
                          "t5"."read",
                          "t5"."search",
                          "t5"."like",
                          "t5"."follow",
                          "t5"."collect",
                          "t5"."comment",
                          "t5"."share",
                          "t5"."screenshot",
                          "t5"."cart",
                          "t5"."store_visit",
                          "t5"."deep_read",
                          "t5"."purchase",
                          "t5"."post",
                          CAST(CASE "t5"."category"
                            WHEN 'facial_serum'
                            THEN 29
                            WHEN 'infant_food'
                            THEN 70
                            ELSE 30
                          END AS BIGINT) AS "cycle_days",
                          DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t5"."local_date") AS "_dn"
                        FROM "t4" AS "t5"
                      ) AS "t8"
                      INNER JOIN (
                        SELECT
                          "t6"."brand",
                          ROW_NUMBER() OVER (
                            ORDER BY "t6"."brand" ASC
                            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                          ) - 1 AS "_e"
                        FROM (
                          SELECT DISTINCT
                            "t5"."brand"
                          FROM "t4" AS "t5"
                        ) AS "t6"
                      ) AS "t10"
                        ON "t8"."brand" IS NOT DISTINCT FROM "t10"."brand"
                    ) AS "t11"
                  ) AS "t12"
                ) AS "t13"
              ) AS "t15"
              CROSS JOIN "ibis_pandas_memtable" AS "t2"
            ) AS "t16"
            WHERE
              "t16"."_w0" <> 0
          ) AS "t17"
        ) AS "t18"
        WHERE
          "t18"."_first" AND "t18"."_d_w0" <> 0
      ) AS "t19"
      WHERE
        "t19"."_rank" <> "t19"."_prev"
    ) AS "t20"
  ) AS "t22"
  INNER JOIN (
    SELECT
      "t6"."brand",
      ROW_NUMBER() OVER (
        ORDER BY "t6"."brand" ASC
        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
      ) - 1 AS "_e"
    FROM (
      SELECT DISTINCT
        "t5"."brand"
      FROM "t4" AS "t5"
    ) AS "t6"
  ) AS "t10"
    ON "t22"."_e" = "t10"."_e"
) AS "t23"
WHERE
  "t23"."stage" IS NOT NULL
