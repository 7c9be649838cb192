SELECT
  "t5"."day" AS "date",
  "t27"."brand",
  "t27"."stage",
  "t27"."users"
FROM (
  SELECT
    "t25"."brand",
    "t25"."stage",
    "t25"."date",
    SUM("t25"."delta") OVER (
      PARTITION BY "t25"."brand", "t25"."stage"
      ORDER BY "t25"."date" ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS "users",
    LEAD("t25"."date") OVER (
      PARTITION BY "t25"."brand", "t25"."stage"
      ORDER BY "t25"."date" ASC
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS "until"
  FROM (
    SELECT
      "t24"."brand",
      "t24"."stage",
      "t24"."date",
      SUM("t24"."delta") AS "delta"
    FROM (
      SELECT
        "t23"."brand",
        "t23"."_stage" AS "stage",
        CASE WHEN "t23"."_seed" THEN 19783 ELSE "t23"."date" END AS "date",
        CASE WHEN "t23"."_seed" THEN 0 ELSE "t23"."delta" END AS "delta"
      FROM (
        SELECT
          "t22"."brand",
          "t22"."stage",
          "t22"."date",
          "t22"."delta",
          "t6"."_stage",
          "t6"."_seed"
        FROM (
          SELECT
            "t20"."brand",
            "t20"."stage",
            "t20"."date",
            SUM("t20"."_sign") AS "delta"
          FROM (
            SELECT
              "t19"."brand",
              "t19"."stage",
              "t19"."_sign",
              CASE
                WHEN "t19"."_sign" = 1
                THEN GREATEST("t19"."day", 19783)
                ELSE "t19"."next_day"
              END AS "date"
            FROM (
              SELECT
                "t18"."user_id",
                "t18"."brand",
                "t18"."day",
                "t18"."next_day",
                "t18"."stage",
                "t7"."_sign"
              FROM (
                SELECT
                  *
                FROM (
                  SELECT
                    "t15"."user_id",
                    "t15"."brand",
                    "t15"."day",
                    "t15"."next_day",
                    CASE
                      WHEN "t15"."_a0" >= 1
                      THEN 'S'
                      WHEN "t15"."_a1" >= 1
                      THEN 'P'
                      WHEN (
                        "t15"."_a2" >= 2
                      )
                      OR (
                        "t15"."_a3" >= 1
                      )
                      OR (
                        (
                          "t15"."_a4" >= 1
                        ) AND (
                          "t15"."_a5" >= 1
                        )
                      )
                      THEN 'TI'
                      WHEN "t15"."_a6" >= 1
                      THEN 'I'
                      WHEN "t15"."_a7" >= 1
                      THEN 'A'
                      ELSE CAST(NULL AS TEXT)
                    END AS "stage"
                  FROM (
                    SELECT
                      "t14"."user_id",
                      "t14"."brand",
                      "t14"."day",
                      LEAD("t14"."day") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                      ) AS "next_day",
                      SUM("t14"."_a0") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                      ) AS "_a0",
                      SUM("t14"."_a1") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                      ) AS "_a1",
                      SUM("t14"."_a2") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                      ) AS "_a2",
                      SUM("t14"."_a3") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                      ) AS "_a3",
                      SUM("t14"."_a4") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                      ) AS "_a4",
                      SUM("t14"."_a5") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                      ) AS "_a5",
                      SUM("t14"."_a6") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                      ) AS "_a6",
                      SUM("t14"."_a7") OVER (
                        PARTITION BY "t14"."user_id", "t14"."brand"
                        ORDER BY "t14"."day" ASC
                        RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
                      ) AS "_a7"
                    FROM (
                      SELECT
                        *
                      FROM (
                        SELECT
                          "t12"."user_id",
                          "t12"."brand",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN "t12"."_dn" + 30
                            WHEN "t8"."_piece" = 2
                            THEN "t12"."_dn" + 365
                            WHEN "t8"."_piece" = 3
                            THEN "t12"."_dn" + "t12"."cycle_days"
                            ELSE "t12"."_dn"
                          END AS "day",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN 0
                            WHEN "t8"."_piece" = 2
                            THEN -(
                              "t12"."post"
                            )
                            WHEN "t8"."_piece" = 3
                            THEN 0
                            ELSE "t12"."post"
                          END AS "_a0",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN 0
                            WHEN "t8"."_piece" = 2
                            THEN 0
                            WHEN "t8"."_piece" = 3
                            THEN -(
                              "t12"."purchase"
                            )
                            ELSE "t12"."purchase"
                          END AS "_a1",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN -(
                              "t12"."deep_read"
                            )
                            WHEN "t8"."_piece" = 2
                            THEN 0
                            WHEN "t8"."_piece" = 3
                            THEN 0
                            ELSE "t12"."deep_read"
                          END AS "_a2",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN -(
                              "t12"."cart" + "t12"."collect" + "t12"."comment" + "t12"."screenshot" + "t12"."share" + "t12"."store_visit"
                            )
                            WHEN "t8"."_piece" = 2
                            THEN 0
                            WHEN "t8"."_piece" = 3
                            THEN 0
                            ELSE "t12"."cart" + "t12"."collect" + "t12"."comment" + "t12"."screenshot" + "t12"."share" + "t12"."store_visit"
                          END AS "_a3",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN -(
                              "t12"."search"
                            )
                            WHEN "t8"."_piece" = 2
                            THEN 0
                            WHEN "t8"."_piece" = 3
                            THEN 0
                            ELSE "t12"."search"
                          END AS "_a4",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN -(
                              "t12"."read"
                            )
                            WHEN "t8"."_piece" = 2
                            THEN 0
                            WHEN "t8"."_piece" = 3
                            THEN 0
                            ELSE "t12"."read"
                          END AS "_a5",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN -(
                              "t12"."follow" + "t12"."like" + "t12"."read" + "t12"."search"
                            )
                            WHEN "t8"."_piece" = 2
                            THEN 0
                            WHEN "t8"."_piece" = 3
                            THEN 0
                            ELSE "t12"."follow" + "t12"."like" + "t12"."read" + "t12"."search"
                          END AS "_a6",
                          CASE
                            WHEN "t8"."_piece" = 1
                            THEN -(
                              "t12"."impression"
                            )
                            WHEN "t8"."_piece" = 2
                            THEN 0
                            WHEN "t8"."_piece" = 3
                            THEN 0
                            ELSE "t12"."impression"
                          END AS "_a7"
                        FROM (
                          SELECT
                            "t10"."user_id",
                            "t10"."brand",
                            "t10"."spu",
                            "t10"."category",
                            "t10"."local_date",
                            "t10"."impression",
                            "t10"."read",
                            "t10"."search",
                            "t10"."like",
                            "t10"."follow",
                            "t10"."collect",
                            "t10"."comment",
                            "t10"."share",
                            "t10"."screenshot",
                            "t10"."cart",
                            "t10"."store_visit",
                            "t10"."deep_read",
                            "t10"."purchase",
                            "t10"."post",
                            CAST(CASE "t10"."category"
                              WHEN 'facial_serum'
                              THEN 29
                              WHEN 'infant_food'
                              THEN 70
                              ELSE 30
                            END AS BIGINT) AS "cycle_days",
                            DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t10"."local_date") AS "_dn"
                          FROM (
                            SELECT
                              "t9"."user_id",
                              "t9"."brand",
                              "t9"."spu",
                              "t9"."category",
                              "t9"."local_date",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('impression')) AS "impression",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('read')) AS "read",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('search')) AS "search",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('like')) AS "like",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('follow')) AS "follow",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('collect')) AS "collect",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('comment')) AS "comment",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('share')) AS "share",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('screenshot')) AS "screenshot",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('cart')) AS "cart",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('store_visit')) AS "store_visit",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('read')
                                AND COALESCE(
                                  (
                                    COALESCE("t9"."dwell_s", 0) >= 5
                                  )
                                  OR (
                                    COALESCE("t9"."completion", 0) >= 0.5
                                  ),
                                  FALSE
                                )) AS "deep_read",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('purchase')) AS "purchase",
                              COUNT(*) FILTER(WHERE
                                "t9"."event_type" IN ('post')) AS "post"
                            FROM (
                              SELECT
                                *
                              FROM "events" AS "t4"
                              WHERE
                                "t4"."event_type" IN (
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
                            ) AS "t9"
                            GROUP BY
                              1,
                              2,
                              3,
                              4,
                              5
                          ) AS "t10"
                          WHERE
                            "t10"."local_date" <= MAKE_DATE(2024, 3, 28)
                            AND (
                              (
                                (
                                  (
                                    DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t10"."local_date") + 30
                                  ) > 19783
                                )
                                AND (
                                  (
                                    "t10"."deep_read" <> 0
                                  )
                                  OR (
                                    (
                                      "t10"."cart" + "t10"."collect" + "t10"."comment" + "t10"."screenshot" + "t10"."share" + "t10"."store_visit"
                                    ) <> 0
                                  )
                                  OR (
                                    "t10"."search" <> 0
                                  )
                                  OR (
                                    "t10"."read" <> 0
                                  )
                                  OR (
                                    (
                                      "t10"."follow" + "t10"."like" + "t10"."read" + "t10"."search"
                                    ) <> 0
                                  )
                                  OR (
                                    "t10"."impression" <> 0
                                  )
                                )
                              )
                              OR (
                                (
                                  (
                                    DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t10"."local_date") + 365
                                  ) > 19783
                                )
                                AND (
                                  "t10"."post" <> 0
                                )
                              )
                              OR (
                                (
                                  (
                                    DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t10"."local_date") + CAST(CASE "t10"."category"
                                      WHEN 'facial_serum'
                                      THEN 29
                                      WHEN 'infant_food'
                                      THEN 70
                                      ELSE 30
                                    END AS BIGINT)
                                  ) > 19783
                                )
                                AND (
                                  "t10"."purchase" <> 0
                                )
                              )
                            )
                        ) AS "t12"
                        CROSS JOIN "ibis_pandas_memtable" AS "t8"
                      ) AS "t13"
                      WHERE
                        (
                          (
                            "t13"."_a0" <> 0
                          )
                          OR (
                            "t13"."_a1" <> 0
                          )
                          OR (
                            "t13"."_a2" <> 0
                          )
                          OR (
                            "t13"."_a3" <> 0
                          )
                          OR (
                            "t13"."_a4" <> 0
                          )
                          OR (
                            "t13"."_a5" <> 0
                          )
                          OR (
                            "t13"."_a6" <> 0
                          )
                          OR (
                            "t13"."_a7" <> 0
                          )
                        )
                        AND "t13"."day" <= 19810
                    ) AS "t14"
                  ) AS "t15"
                ) AS "t16"
                WHERE
                  "t16"."stage" IS NOT NULL
                  AND "t16"."day" <= 19810
                  AND (
                    (
                      "t16"."next_day" IS NULL
                    )
                    OR (
                      (
                        "t16"."next_day" > 19783
                      ) AND (
                        "t16"."next_day" > "t16"."day"
                      )
                    )
                  )
              ) AS "t18"
              CROSS JOIN "ibis_pandas_memtable" AS "t7"
            ) AS "t19"
            WHERE
              (
                "t19"."_sign" = 1
              )
              OR (
                (
                  "t19"."next_day" IS NOT NULL
                ) AND (
                  "t19"."next_day" <= 19810
                )
              )
          ) AS "t20"
          GROUP BY
            1,
            2,
            3
        ) AS "t22"
        CROSS JOIN "ibis_pandas_memtable" AS "t6"
      ) AS "t23"
      WHERE
        "t23"."_seed" OR (
          "t23"."stage" = "t23"."_stage"
        )
    ) AS "t24"
    GROUP BY
      1,
      2,
      3
  ) AS "t25"
) AS "t27"
INNER JOIN "ibis_pandas_memtable" AS "t5"
  ON "t5"."_dn" >= "t27"."date" AND "t5"."_dn" < COALESCE("t27"."until", 19810 + 1)
