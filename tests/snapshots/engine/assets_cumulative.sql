SELECT
  "t12"."brand",
  "t12"."stage",
  SUM("t12"."users") AS "users"
FROM (
  SELECT
    *
  FROM (
    SELECT
      "t10"."brand",
      "t10"."users",
      "t2"."rank" AS "have",
      "t4"."stage",
      "t4"."want"
    FROM (
      SELECT
        "t8"."brand",
        "t8"."stage",
        COUNT("t8"."user_id") AS "users"
      FROM (
        SELECT
          *
        FROM (
          SELECT
            "t6"."user_id",
            "t6"."brand",
            CASE
              WHEN "t6"."_m0" >= 1
              THEN 'S'
              WHEN "t6"."_m1" >= 1
              THEN 'P'
              WHEN (
                "t6"."_m2" >= 2
              )
              OR (
                "t6"."_m3" >= 1
              )
              OR (
                (
                  "t6"."_m4" >= 1
                ) AND (
                  "t6"."_m5" >= 1
                )
              )
              THEN 'TI'
              WHEN "t6"."_m6" >= 1
              THEN 'I'
              WHEN "t6"."_m7" >= 1
              THEN 'A'
              ELSE CAST(NULL AS TEXT)
            END AS "stage"
          FROM (
            SELECT
              "t5"."user_id",
              "t5"."brand",
              COUNT(*) FILTER(WHERE
                "t5"."event_type" IN ('post') AND (
                  "t5"."local_date" > MAKE_DATE(2023, 3, 2)
                )) AS "_m0",
              COUNT(*) FILTER(WHERE
                "t5"."event_type" IN ('purchase')
                AND (
                  DATE_DIFF('DAY', "t5"."local_date", MAKE_DATE(2024, 3, 1)) < "t5"."cycle_days"
                )) AS "_m1",
              COUNT(*) FILTER(WHERE
                "t5"."event_type" IN ('read')
                AND COALESCE(
                  (
                    COALESCE("t5"."dwell_s", 0) >= 5
                  )
                  OR (
                    COALESCE("t5"."completion", 0) >= 0.5
                  ),
                  FALSE
                )
                AND (
                  "t5"."local_date" > MAKE_DATE(2024, 1, 31)
                )) AS "_m2",
              COUNT(*) FILTER(WHERE
                "t5"."event_type" IN ('cart', 'collect', 'comment', 'screenshot', 'share', 'store_visit')
                AND (
                  "t5"."local_date" > MAKE_DATE(2024, 1, 31)
                )) AS "_m3",
              COUNT(*) FILTER(WHERE
                "t5"."event_type" IN ('search')
                AND (
                  "t5"."local_date" > MAKE_DATE(2024, 1, 31)
                )) AS "_m4",
              COUNT(*) FILTER(WHERE
                "t5"."event_type" IN ('read')
                AND (
                  "t5"."local_date" > MAKE_DATE(2024, 1, 31)
                )) AS "_m5",
              COUNT(*) FILTER(WHERE
                "t5"."event_type" IN ('follow', 'like', 'read', 'search')
                AND (
                  "t5"."local_date" > MAKE_DATE(2024, 1, 31)
                )) AS "_m6",
              COUNT(*) FILTER(WHERE
                "t5"."event_type" IN ('impression')
                AND (
                  "t5"."local_date" > MAKE_DATE(2024, 1, 31)
                )) AS "_m7"
            FROM (
              SELECT
                "t1"."event_id",
                "t1"."ts",
                "t1"."local_date",
                "t1"."user_id",
                "t1"."brand",
                "t1"."spu",
                "t1"."category",
                "t1"."event_type",
                "t1"."channel",
                "t1"."campaign_id",
                "t1"."creator_id",
                "t1"."note_id",
                "t1"."content_format",
                "t1"."keyword",
                "t1"."dwell_s",
                "t1"."completion",
                "t1"."amount",
                "t1"."load_id",
                CAST(CASE "t1"."category"
                  WHEN 'facial_serum'
                  THEN 29
                  WHEN 'infant_food'
                  THEN 70
                  ELSE 30
                END AS BIGINT) AS "cycle_days"
              FROM "events" AS "t1"
              WHERE
                "t1"."local_date" <= MAKE_DATE(2024, 3, 1)
                AND "t1"."local_date" > MAKE_DATE(2023, 3, 2)
            ) AS "t5"
            GROUP BY
              1,
              2
          ) AS "t6"
        ) AS "t7"
        WHERE
          "t7"."stage" IS NOT NULL
      ) AS "t8"
      GROUP BY
        1,
        2
    ) AS "t10"
    INNER JOIN "ibis_pandas_memtable" AS "t2"
      ON "t10"."stage" = "t2"."stage"
    CROSS JOIN (
      SELECT
        "t0"."stage",
        "t0"."rank" AS "want"
      FROM "ibis_pandas_memtable" AS "t0"
    ) AS "t4"
  ) AS "t11"
  WHERE
    "t11"."have" >= "t11"."want"
) AS "t12"
GROUP BY
  1,
  2
