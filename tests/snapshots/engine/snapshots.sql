SELECT
  *
FROM (
  SELECT
    "t6"."day",
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
      "t5"."day",
      "t5"."user_id",
      "t5"."brand",
      COUNT(*) FILTER(WHERE
        "t5"."event_type" IN ('post')
        AND (
          DATE_DIFF('DAY', "t5"."local_date", "t5"."day") < 365
        )) AS "_m0",
      COUNT(*) FILTER(WHERE
        "t5"."event_type" IN ('purchase')
        AND (
          DATE_DIFF('DAY', "t5"."local_date", "t5"."day") < "t5"."cycle_days"
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
          DATE_DIFF('DAY', "t5"."local_date", "t5"."day") < 30
        )) AS "_m2",
      COUNT(*) FILTER(WHERE
        "t5"."event_type" IN ('cart', 'collect', 'comment', 'screenshot', 'share', 'store_visit')
        AND (
          DATE_DIFF('DAY', "t5"."local_date", "t5"."day") < 30
        )) AS "_m3",
      COUNT(*) FILTER(WHERE
        "t5"."event_type" IN ('search')
        AND (
          DATE_DIFF('DAY', "t5"."local_date", "t5"."day") < 30
        )) AS "_m4",
      COUNT(*) FILTER(WHERE
        "t5"."event_type" IN ('read')
        AND (
          DATE_DIFF('DAY', "t5"."local_date", "t5"."day") < 30
        )) AS "_m5",
      COUNT(*) FILTER(WHERE
        "t5"."event_type" IN ('follow', 'like', 'read', 'search')
        AND (
          DATE_DIFF('DAY', "t5"."local_date", "t5"."day") < 30
        )) AS "_m6",
      COUNT(*) FILTER(WHERE
        "t5"."event_type" IN ('impression')
        AND (
          DATE_DIFF('DAY', "t5"."local_date", "t5"."day") < 30
        )) AS "_m7"
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
        "t4"."day",
        CAST(CASE "t4"."category"
          WHEN 'facial_serum'
          THEN 29
          WHEN 'infant_food'
          THEN 70
          ELSE 30
        END AS BIGINT) AS "cycle_days"
      FROM (
        SELECT
          "t2"."event_id",
          "t2"."ts",
          "t2"."local_date",
          "t2"."user_id",
          "t2"."brand",
          "t2"."spu",
          "t2"."category",
          "t2"."event_type",
          "t2"."channel",
          "t2"."campaign_id",
          "t2"."creator_id",
          "t2"."note_id",
          "t2"."content_format",
          "t2"."keyword",
          "t2"."dwell_s",
          "t2"."completion",
          "t2"."amount",
          "t2"."load_id",
          "t3"."day"
        FROM "events" AS "t2"
        CROSS JOIN "ibis_pandas_memtable" AS "t3"
      ) AS "t4"
      WHERE
        "t4"."local_date" <= "t4"."day"
        AND DATE_DIFF('DAY', "t4"."local_date", "t4"."day") < 365
    ) AS "t5"
    GROUP BY
      1,
      2,
      3
  ) AS "t6"
) AS "t7"
WHERE
  "t7"."stage" IS NOT NULL
