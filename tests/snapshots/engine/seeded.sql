SELECT
  "t6"."brand",
  'I+TI' AS "stage",
  SUM("t6"."users") AS "users"
FROM (
  SELECT
    *
  FROM (
    SELECT
      "t4"."brand",
      "t4"."stage",
      COUNT("t4"."user_id") AS "users"
    FROM (
      SELECT
        *
      FROM (
        SELECT
          "t2"."user_id",
          "t2"."brand",
          CASE
            WHEN "t2"."_m0" >= 1
            THEN 'S'
            WHEN "t2"."_m1" >= 1
            THEN 'P'
            WHEN (
              "t2"."_m2" >= 2
            )
            OR (
              "t2"."_m3" >= 1
            )
            OR (
              (
                "t2"."_m4" >= 1
              ) AND (
                "t2"."_m5" >= 1
              )
            )
            THEN 'TI'
            WHEN "t2"."_m6" >= 1
            THEN 'I'
            WHEN "t2"."_m7" >= 1
            THEN 'A'
            ELSE CAST(NULL AS TEXT)
          END AS "stage"
        FROM (
          SELECT
            "t1"."user_id",
            "t1"."brand",
            COUNT(*) FILTER(WHERE
              "t1"."event_type" IN ('post') AND (
                "t1"."local_date" > MAKE_DATE(2023, 3, 2)
              )) AS "_m0",
            COUNT(*) FILTER(WHERE
              "t1"."event_type" IN ('purchase')
              AND (
                DATE_DIFF('DAY', "t1"."local_date", MAKE_DATE(2024, 3, 1)) < "t1"."cycle_days"
              )) AS "_m1",
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
              )
              AND (
                "t1"."local_date" > MAKE_DATE(2024, 1, 31)
              )) AS "_m2",
            COUNT(*) FILTER(WHERE
              "t1"."event_type" IN ('cart', 'collect', 'comment', 'screenshot', 'share', 'store_visit')
              AND (
                "t1"."local_date" > MAKE_DATE(2024, 1, 31)
              )) AS "_m3",
            COUNT(*) FILTER(WHERE
              "t1"."event_type" IN ('search')
              AND (
                "t1"."local_date" > MAKE_DATE(2024, 1, 31)
              )) AS "_m4",
            COUNT(*) FILTER(WHERE
              "t1"."event_type" IN ('read')
              AND (
                "t1"."local_date" > MAKE_DATE(2024, 1, 31)
              )) AS "_m5",
            COUNT(*) FILTER(WHERE
              "t1"."event_type" IN ('follow', 'like', 'read', 'search')
              AND (
                "t1"."local_date" > MAKE_DATE(2024, 1, 31)
              )) AS "_m6",
            COUNT(*) FILTER(WHERE
              "t1"."event_type" IN ('impression')
              AND (
                "t1"."local_date" > MAKE_DATE(2024, 1, 31)
              )) AS "_m7"
          FROM (
            SELECT
              "t0"."event_id",
              "t0"."ts",
              "t0"."local_date",
              "t0"."user_id",
              "t0"."brand",
              "t0"."spu",
              "t0"."category",
              "t0"."event_type",
              "t0"."channel",
              "t0"."campaign_id",
              "t0"."creator_id",
              "t0"."note_id",
              "t0"."content_format",
              "t0"."keyword",
              "t0"."dwell_s",
              "t0"."completion",
              "t0"."amount",
              "t0"."load_id",
              CAST(CASE "t0"."category"
                WHEN 'facial_serum'
                THEN 29
                WHEN 'infant_food'
                THEN 70
                ELSE 30
              END AS BIGINT) AS "cycle_days"
            FROM "events" AS "t0"
            WHERE
              "t0"."local_date" <= MAKE_DATE(2024, 3, 1)
              AND "t0"."local_date" > MAKE_DATE(2023, 3, 2)
          ) AS "t1"
          GROUP BY
            1,
            2
        ) AS "t2"
      ) AS "t3"
      WHERE
        "t3"."stage" IS NOT NULL
    ) AS "t4"
    GROUP BY
      1,
      2
  ) AS "t5"
  WHERE
    "t5"."stage" IN ('I', 'TI')
) AS "t6"
GROUP BY
  1
