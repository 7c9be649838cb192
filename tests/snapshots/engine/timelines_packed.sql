SELECT
  "t12"."user_id",
  "t12"."brand",
  MAKE_DATE(1970, 1, 1) + TO_DAYS("t12"."day") AS "start_date",
  MAKE_DATE(1970, 1, 1) + TO_DAYS("t12"."_next" - 1) AS "end_date",
  "t12"."stage"
FROM (
  SELECT
    "t11"."user_id",
    "t11"."brand",
    "t11"."day",
    "t11"."stage",
    LEAD("t11"."day") OVER (
      PARTITION BY "t11"."user_id", "t11"."brand"
      ORDER BY "t11"."day" ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "_next"
  FROM (
    SELECT
      "t10"."user_id",
      "t10"."brand",
      "t10"."day",
      CASE
        WHEN "t10"."_rank" = 5
        THEN 'S'
        WHEN "t10"."_rank" = 4
        THEN 'P'
        WHEN "t10"."_rank" = 3
        THEN 'TI'
        WHEN "t10"."_rank" = 2
        THEN 'I'
        WHEN "t10"."_rank" = 1
        THEN 'A'
        ELSE CAST(NULL AS TEXT)
      END AS "stage"
    FROM (
      SELECT
        "t9"."user_id",
        "t9"."brand",
        "t9"."day",
        CASE
          WHEN (
            (
              "t9"."_w0" >> 0
            ) & 1023
          ) >= 1
          THEN 5
          WHEN (
            (
              "t9"."_w0" >> 10
            ) & 511
          ) >= 1
          THEN 4
          WHEN (
            (
              (
                "t9"."_w0" >> 19
              ) & 255
            ) >= 2
          )
          OR (
            (
              (
                "t9"."_w0" >> 27
              ) & 127
            ) >= 1
          )
          OR (
            (
              (
                (
                  "t9"."_w0" >> 34
                ) & 127
              ) >= 1
            )
            AND (
              (
                (
                  "t9"."_w0" >> 41
                ) & 127
              ) >= 1
            )
          )
          THEN 3
          WHEN (
            (
              "t9"."_w0" >> 48
            ) & 127
          ) >= 1
          THEN 2
          WHEN (
            (
              "t9"."_w0" >> 55
            ) & 127
          ) >= 1
          THEN 1
          ELSE 0
        END AS "_rank",
        CASE
          WHEN (
            (
              (
                "t9"."_w0" - "t9"."_d_w0"
              ) >> 0
            ) & 1023
          ) >= 1
          THEN 5
          WHEN (
            (
              (
                "t9"."_w0" - "t9"."_d_w0"
              ) >> 10
            ) & 511
          ) >= 1
          THEN 4
          WHEN (
            (
              (
                (
                  "t9"."_w0" - "t9"."_d_w0"
                ) >> 19
              ) & 255
            ) >= 2
          )
          OR (
            (
              (
                (
                  "t9"."_w0" - "t9"."_d_w0"
                ) >> 27
              ) & 127
            ) >= 1
          )
          OR (
            (
              (
                (
                  (
                    "t9"."_w0" - "t9"."_d_w0"
                  ) >> 34
                ) & 127
              ) >= 1
            )
            AND (
              (
                (
                  (
                    "t9"."_w0" - "t9"."_d_w0"
                  ) >> 41
                ) & 127
              ) >= 1
            )
          )
          THEN 3
          WHEN (
            (
              (
                "t9"."_w0" - "t9"."_d_w0"
              ) >> 48
            ) & 127
          ) >= 1
          THEN 2
          WHEN (
            (
              (
                "t9"."_w0" - "t9"."_d_w0"
              ) >> 55
            ) & 127
          ) >= 1
          THEN 1
          ELSE 0
        END AS "_prev"
      FROM (
        SELECT
          "t8"."user_id",
          "t8"."brand",
          "t8"."day",
          CAST(SUM("t8"."_w0") OVER (
            PARTITION BY "t8"."user_id", "t8"."brand"
            ORDER BY "t8"."day" ASC
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
          ) AS BIGINT) AS "_w0",
          CAST(SUM("t8"."_w0") OVER (
            PARTITION BY "t8"."user_id", "t8"."brand"
            ORDER BY "t8"."day" ASC
            RANGE BETWEEN CURRENT ROW AND CURRENT ROW
          ) AS BIGINT) AS "_d_w0"
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
                THEN "t6"."_p1_w0"
                WHEN "t2"."_piece" = 2
                THEN "t6"."_p2_w0"
                WHEN "t2"."_piece" = 3
                THEN "t6"."_p3_w0"
                ELSE "t6"."_p0_w0"
              END AS "_w0"
            FROM (
              SELECT
                "t4"."user_id",
                "t4"."brand",
                DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t4"."local_date") AS "_dn",
                CAST(CASE "t4"."category"
                  WHEN 'facial_serum'
                  THEN 29
                  WHEN 'infant_food'
                  THEN 70
                  ELSE 30
                END AS BIGINT) AS "cycle_days",
                (
                  LEAST("t4"."post", 1) * 1
                ) + (
                  LEAST("t4"."purchase", 1) * 1024
                ) + (
                  LEAST("t4"."deep_read", 2) * 524288
                ) + (
                  LEAST(
                    "t4"."cart" + "t4"."collect" + "t4"."comment" + "t4"."screenshot" + "t4"."share" + "t4"."store_visit",
                    1
                  ) * 134217728
                ) + (
                  LEAST("t4"."search", 1) * 17179869184
                ) + (
                  LEAST("t4"."read", 1) * 2199023255552
                ) + (
                  LEAST("t4"."follow" + "t4"."like" + "t4"."read" + "t4"."search", 1) * 281474976710656
                ) + (
                  LEAST("t4"."impression", 1) * 36028797018963968
                ) AS "_p0_w0",
                -(
                  (
                    LEAST("t4"."deep_read", 2) * 524288
                  ) + (
                    LEAST(
                      "t4"."cart" + "t4"."collect" + "t4"."comment" + "t4"."screenshot" + "t4"."share" + "t4"."store_visit",
                      1
                    ) * 134217728
                  ) + (
                    LEAST("t4"."search", 1) * 17179869184
                  ) + (
                    LEAST("t4"."read", 1) * 2199023255552
                  ) + (
                    LEAST("t4"."follow" + "t4"."like" + "t4"."read" + "t4"."search", 1) * 281474976710656
                  ) + (
                    LEAST("t4"."impression", 1) * 36028797018963968
                  )
                ) AS "_p1_w0",
                -(
                  LEAST("t4"."post", 1) * 1
                ) AS "_p2_w0",
                -(
                  LEAST("t4"."purchase", 1) * 1024
                ) AS "_p3_w0"
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
            "t7"."_w0" <> 0
        ) AS "t8"
      ) AS "t9"
      WHERE
        "t9"."_d_w0" <> 0
    ) AS "t10"
    WHERE
      "t10"."_rank" <> "t10"."_prev"
  ) AS "t11"
) AS "t12"
WHERE
  "t12"."stage" IS NOT NULL
  AND (
    (
      "t12"."_next" IS NULL
    ) OR (
      "t12"."_next" <> "t12"."day"
    )
  )
