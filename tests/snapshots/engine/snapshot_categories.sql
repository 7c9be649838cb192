SELECT
  *
FROM (
  SELECT
    "t12"."user_id",
    "t12"."brand",
    CASE
      WHEN "t12"."_m0" >= 1
      THEN 'S'
      WHEN "t12"."_m1" >= 1
      THEN 'P'
      WHEN (
        "t12"."_m2" >= 2
      )
      OR (
        "t12"."_m3" >= 1
      )
      OR (
        (
          "t12"."_m4" >= 1
        ) AND (
          "t12"."_m5" >= 1
        )
      )
      THEN 'TI'
      WHEN "t12"."_m6" >= 1
      THEN 'I'
      WHEN "t12"."_m7" >= 1
      THEN 'A'
      ELSE CAST(NULL AS TEXT)
    END AS "stage"
  FROM (
    SELECT
      "t11"."user_id",
      "t11"."brand",
      COUNT(*) FILTER(WHERE
        "t11"."event_type" IN ('post')
        AND (
          "t11"."local_date" > MAKE_DATE(2023, 3, 2)
        )) AS "_m0",
      COUNT(*) FILTER(WHERE
        "t11"."event_type" IN ('purchase')
        AND (
          DATE_DIFF('DAY', "t11"."local_date", MAKE_DATE(2024, 3, 1)) < "t11"."cycle_days"
        )) AS "_m1",
      COUNT(*) FILTER(WHERE
        "t11"."event_type" IN ('read')
        AND COALESCE(
          (
            COALESCE("t11"."dwell_s", 0) >= 5
          )
          OR (
            COALESCE("t11"."completion", 0) >= 0.5
          ),
          FALSE
        )
        AND (
          "t11"."local_date" > MAKE_DATE(2024, 1, 31)
        )) AS "_m2",
      COUNT(*) FILTER(WHERE
        "t11"."event_type" IN ('cart', 'collect', 'comment', 'screenshot', 'share', 'store_visit')
        AND (
          "t11"."local_date" > MAKE_DATE(2024, 1, 31)
        )) AS "_m3",
      COUNT(*) FILTER(WHERE
        "t11"."event_type" IN ('search')
        AND (
          "t11"."local_date" > MAKE_DATE(2024, 1, 31)
        )) AS "_m4",
      COUNT(*) FILTER(WHERE
        "t11"."event_type" IN ('read')
        AND (
          "t11"."local_date" > MAKE_DATE(2024, 1, 31)
        )) AS "_m5",
      COUNT(*) FILTER(WHERE
        "t11"."event_type" IN ('follow', 'like', 'read', 'search')
        AND (
          "t11"."local_date" > MAKE_DATE(2024, 1, 31)
        )) AS "_m6",
      COUNT(*) FILTER(WHERE
        "t11"."event_type" IN ('impression')
        AND (
          "t11"."local_date" > MAKE_DATE(2024, 1, 31)
        )) AS "_m7"
    FROM (
      SELECT
        "t10"."event_id",
        "t10"."ts",
        "t10"."local_date",
        "t10"."user_id",
        "t10"."brand",
        "t10"."spu",
        "t10"."category",
        "t10"."event_type",
        "t10"."channel",
        "t10"."campaign_id",
        "t10"."creator_id",
        "t10"."note_id",
        "t10"."content_format",
        "t10"."keyword",
        "t10"."dwell_s",
        "t10"."completion",
        "t10"."amount",
        "t10"."load_id",
        COALESCE("t10"."_cyc", 30) AS "cycle_days"
      FROM (
        SELECT
          "t4"."event_id",
          "t4"."ts",
          "t4"."local_date",
          "t4"."user_id",
          "t4"."brand",
          "t4"."spu",
          "t4"."category",
          "t4"."event_type",
          "t4"."channel",
          "t4"."campaign_id",
          "t4"."creator_id",
          "t4"."note_id",
          "t4"."content_format",
          "t4"."keyword",
          "t4"."dwell_s",
          "t4"."completion",
          "t4"."amount",
          "t4"."load_id",
          "t9"."_cat",
          "t9"."_cyc"
        FROM (
          SELECT
            *
          FROM "events" AS "t0"
          WHERE
            "t0"."local_date" <= MAKE_DATE(2024, 3, 1)
        ) AS "t4"
        LEFT OUTER JOIN (
          SELECT
            "t7"."category" AS "_cat",
            "t7"."cycle_days" AS "_cyc"
          FROM (
            SELECT
              *
            FROM "ibis_pandas_memtable" AS "t1"
            UNION ALL
            SELECT
              *
            FROM (
              SELECT
                "t5"."category",
                MAX("t5"."decision_cycle_days") AS "cycle_days"
              FROM (
                SELECT
                  *
                FROM "categories" AS "t2"
                WHERE
                  "t2"."category" IS NOT NULL
                  AND "t2"."decision_cycle_days" IS NOT NULL
                  AND NOT (
                    "t2"."category" IN ('facial_serum', 'infant_food')
                  )
              ) AS "t5"
              GROUP BY
                1
            ) AS "t6"
          ) AS "t7"
        ) AS "t9"
          ON "t4"."category" = "t9"."_cat"
      ) AS "t10"
      WHERE
        (
          DATE_DIFF('DAY', "t10"."local_date", MAKE_DATE(2024, 3, 1)) < COALESCE("t10"."_cyc", 30)
        )
        OR (
          "t10"."local_date" > MAKE_DATE(2023, 3, 2)
        )
    ) AS "t11"
    GROUP BY
      1,
      2
  ) AS "t12"
) AS "t13"
WHERE
  "t13"."stage" IS NOT NULL
