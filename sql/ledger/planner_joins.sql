-- The planner's join methods for the rest of this transaction (SET LOCAL), around an UPDATE by row
-- address (ledger/installment_apply_located): 'off' before it, so that each staged row is one TID
-- scan in the staged (table) order, not a hash join; then back to what they were (the values this
-- statement returned with 'off'). DuckDB: nothing to set; the statement only returns the values.
-- Parameters: :hashjoin, :mergejoin, :memoize ('on' / 'off').
-- Returns: hashjoin, mergejoin, memoize: the values before.
{% if dialect == 'postgresql' %}
SELECT b.hashjoin, b.mergejoin, b.memoize, set_config('enable_hashjoin', :hashjoin, true) AS hashjoin_now,
    set_config('enable_mergejoin', :mergejoin, true) AS mergejoin_now,
    set_config('enable_memoize', :memoize, true) AS memoize_now
FROM (SELECT current_setting('enable_hashjoin') AS hashjoin, current_setting('enable_mergejoin') AS mergejoin,
      current_setting('enable_memoize') AS memoize OFFSET 0) b
{% else %}
SELECT CAST(:hashjoin AS VARCHAR) AS hashjoin, CAST(:mergejoin AS VARCHAR) AS mergejoin,
    CAST(:memoize AS VARCHAR) AS memoize
{% endif %}
