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
  "t24"."user_id",
  "t24"."brand",
  MAKE_DATE(1970, 1, 1) + TO_DAYS("t24"."day") AS "start_date",
  MAKE_DATE(1970, 1, 1) + TO_DAYS("t24"."_next" - 1) AS "end_date",
  "t24"."stage"
FROM (
  SELECT
    "t23"."user_id",
    "t11"."brand",
    "t23"."day",
    "t23"."_next",
    "t23"."stage"
  FROM (
    SELECT
      "t21"."user_id",
      (
        "t21"."day" & 4194303
      ) - 2097152 AS "day",
      "t21"."stage",
      "t21"."day" >> 22 AS "_e",
      (
        CASE
          WHEN (
            LEAD("t21"."day") OVER (
              PARTITION BY "t21"."user_id"
              ORDER BY "t21"."day" ASC
              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
            ) >> 22
          ) = (
            "t21"."day" >> 22
          )
          THEN LEAD("t21"."day") OVER (
            PARTITION BY "t21"."user_id"
            ORDER BY "t21"."day" ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
          )
          ELSE CAST(NULL AS BIGINT)
        END & 4194303
      ) - 2097152 AS "_next"
    FROM (
      SELECT
        "t20"."user_id",
        "t20"."day",
        CASE
          WHEN "t20"."_rank" = 5
          THEN 'S'
          WHEN "t20"."_rank" = 4
          THEN 'P'
          WHEN "t20"."_rank" = 3
          THEN 'TI'
          WHEN "t20"."_rank" = 2
          THEN 'I'
          WHEN "t20"."_rank" = 1
          THEN 'A'
          ELSE CAST(NULL AS TEXT)
        END AS "stage"
      FROM (
        SELECT
          "t19"."user_id",
          "t19"."day",
          CASE
            WHEN (
              (
                "t19"."_w0" >> 0
              ) & 1023
            ) >= 1
            THEN 5
            WHEN (
              (
                "t19"."_w0" >> 10
              ) & 511
            ) >= 1
            THEN 4
            WHEN (
              (
                (
                  "t19"."_w0" >> 19
                ) & 255
              ) >= 2
            )
            OR (
              (
                (
                  "t19"."_w0" >> 27
                ) & 127
              ) >= 1
            )
            OR (
              (
                (
                  (
                    "t19"."_w0" >> 34
                  ) & 127
                ) >= 1
              )
              AND (
                (
                  (
                    "t19"."_w0" >> 41
                  ) & 127
                ) >= 1
              )
            )
            THEN 3
            WHEN (
              (
                "t19"."_w0" >> 48
              ) & 127
            ) >= 1
            THEN 2
            WHEN (
              (
                "t19"."_w0" >> 55
              ) & 127
            ) >= 1
            THEN 1
            ELSE 0
          END AS "_rank",
          CASE
            WHEN (
              (
                (
                  "t19"."_w0" - "t19"."_d_w0"
                ) >> 0
              ) & 1023
            ) >= 1
            THEN 5
            WHEN (
              (
                (
                  "t19"."_w0" - "t19"."_d_w0"
                ) >> 10
              ) & 511
            ) >= 1
            THEN 4
            WHEN (
              (
                (
                  (
                    "t19"."_w0" - "t19"."_d_w0"
                  ) >> 19
                ) & 255
              ) >= 2
            )
            OR (
              (
                (
                  (
                    "t19"."_w0" - "t19"."_d_w0"
                  ) >> 27
                ) & 127
              ) >= 1
            )
            OR (
              (
                (
                  (
                    (
                      "t19"."_w0" - "t19"."_d_w0"
                    ) >> 34
                  ) & 127
                ) >= 1
              )
              AND (
                (
                  (
                    (
                      "t19"."_w0" - "t19"."_d_w0"
                    ) >> 41
                  ) & 127
                ) >= 1
              )
            )
            THEN 3
            WHEN (
              (
                (
                  "t19"."_w0" - "t19"."_d_w0"
                ) >> 48
              ) & 127
            ) >= 1
            THEN 2
            WHEN (
              (
                (
                  "t19"."_w0" - "t19"."_d_w0"
                ) >> 55
              ) & 127
            ) >= 1
            THEN 1
            ELSE 0
          END AS "_prev"
        FROM (
          SELECT
            "t18"."user_id",
            "t18"."day",
            (
              LAG("t18"."day") OVER (
                PARTITION BY "t18"."user_id"
                ORDER BY "t18"."day" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) IS NULL
            )
            OR (
              LAG("t18"."day") OVER (
                PARTITION BY "t18"."user_id"
                ORDER BY "t18"."day" ASC
                ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
              ) <> "t18"."day"
            ) AS "_first",
            CAST(SUM("t18"."_w0") OVER (
              PARTITION BY "t18"."user_id"
              ORDER BY "t18"."day" ASC
              RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            ) AS BIGINT) AS "_w0",
            CAST(SUM("t18"."_w0") OVER (
              PARTITION BY "t18"."user_id"
              ORDER BY "t18"."day" ASC
              RANGE BETWEEN CURRENT ROW AND CURRENT ROW
            ) AS BIGINT) AS "_d_w0"
          FROM (
            SELECT
              *
            FROM (
              SELECT
                "t16"."user_id",
                CASE
                  WHEN "t2"."_piece" = 1
                  THEN "t16"."_dn" + 30
                  WHEN "t2"."_piece" = 2
                  THEN "t16"."_dn" + 365
                  WHEN "t2"."_piece" = 3
                  THEN "t16"."_dn" + "t16"."cycle_days"
                  ELSE "t16"."_dn"
                END AS "day",
                CASE
                  WHEN "t2"."_piece" = 1
                  THEN "t16"."_p1_w0"
                  WHEN "t2"."_piece" = 2
                  THEN "t16"."_p2_w0"
                  WHEN "t2"."_piece" = 3
                  THEN "t16"."_p3_w0"
                  ELSE "t16"."_p0_w0"
                END AS "_w0"
              FROM (
                SELECT
                  "t14"."user_id",
                  "t14"."_dn",
                  "t14"."cycle_days",
                  (
                    LEAST("t14"."post", 1) * 1
                  ) + (
                    LEAST("t14"."purchase", 1) * 1024
                  ) + (
                    LEAST("t14"."deep_read", 2) * 524288
                  ) + (
                    LEAST(
                      "t14"."cart" + "t14"."collect" + "t14"."comment" + "t14"."screenshot" + "t14"."share" + "t14"."store_visit",
                      1
                    ) * 134217728
                  ) + (
                    LEAST("t14"."search", 1) * 17179869184
                  ) + (
                    LEAST("t14"."read", 1) * 2199023255552
                  ) + (
                    LEAST("t14"."follow" + "t14"."like" + "t14"."read" + "t14"."search", 1) * 281474976710656
                  ) + (
                    LEAST("t14"."impression", 1) * 36028797018963968
                  ) AS "_p0_w0",
                  -(
                    (
                      LEAST("t14"."deep_read", 2) * 524288
                    ) + (
                      LEAST(
                        "t14"."cart" + "t14"."collect" + "t14"."comment" + "t14"."screenshot" + "t14"."share" + "t14"."store_visit",
                        1
                      ) * 134217728
                    ) + (
                      LEAST("t14"."search", 1) * 17179869184
                    ) + (
                      LEAST("t14"."read", 1) * 2199023255552
                    ) + (
                      LEAST("t14"."follow" + "t14"."like" + "t14"."read" + "t14"."search", 1) * 281474976710656
                    ) + (
                      LEAST("t14"."impression", 1) * 36028797018963968
                    )
                  ) AS "_p1_w0",
                  -(
                    LEAST("t14"."post", 1) * 1
                  ) AS "_p2_w0",
                  -(
                    LEAST("t14"."purchase", 1) * 1024
                  ) AS "_p3_w0"
                FROM (
                  SELECT
                    "t13".*
                    EXCLUDE ("_e")
                  FROM (
                    SELECT
                      "t12"."user_id",
                      "t12"."brand",
                      "t12"."spu",
                      "t12"."category",
                      "t12"."local_date",
                      "t12"."impression",
                      "t12"."read",
                      "t12"."search",
                      "t12"."like",
                      "t12"."follow",
                      "t12"."collect",
                      "t12"."comment",
                      "t12"."share",
                      "t12"."screenshot",
                      "t12"."cart",
                      "t12"."store_visit",
                      "t12"."deep_read",
                      "t12"."purchase",
                      "t12"."post",
                      "t12"."cycle_days",
                      "t12"."_dn" + (
                        "t12"."_e" * 4194304
                      ) + 2097152 AS "_dn",
                      "t12"."_e"
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
                        "t11"."_e"
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
                          "t9"."brand",
                          CAST("t9"."_e" AS BIGINT) AS "_e"
                        FROM (
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
                        ) AS "t9"
                      ) AS "t11"
                        ON "t8"."brand" IS NOT DISTINCT FROM "t11"."brand"
                    ) AS "t12"
                  ) AS "t13"
                ) AS "t14"
              ) AS "t16"
              CROSS JOIN "ibis_pandas_memtable" AS "t2"
            ) AS "t17"
            WHERE
              "t17"."_w0" <> 0
          ) AS "t18"
        ) AS "t19"
        WHERE
          "t19"."_first" AND "t19"."_d_w0" <> 0
      ) AS "t20"
      WHERE
        "t20"."_rank" <> "t20"."_prev"
    ) AS "t21"
  ) AS "t23"
  INNER JOIN (
    SELECT
      "t9"."brand",
      CAST("t9"."_e" AS BIGINT) AS "_e"
    FROM (
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
    ) AS "t9"
  ) AS "t11"
    ON "t23"."_e" = "t11"."_e"
) AS "t24"
WHERE
  "t24"."stage" IS NOT NULL
