{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='snapshot_date') }}

-- Trailing window: the 28 days ending on (and including) the snapshot date.
with snapshots as (
    select * from {{ ref('fct_inventory_daily') }}
    where {{ partition_filter('snapshot_date', lookback_days=27) }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
    where {{ partition_filter('order_date', lookback_days=27) }}
        and not is_cancelled_order
        and not is_return_line
),

daily_sales as (
    select
        order_date,
        store_id,
        product_id,
        sum(quantity) as units_sold
    from order_lines
    group by order_date, store_id, product_id
),

-- One row per day, store and product with a snapshot or a sale; trailing sums run over these rows
-- (sorted once per store and product) instead of joining every snapshot to 28 days of history.
store_product_days as (
    select
        coalesce(snapshots.snapshot_date, daily_sales.order_date) as activity_date,
        coalesce(snapshots.store_id, daily_sales.store_id) as store_id,
        coalesce(snapshots.product_id, daily_sales.product_id) as product_id,
        snapshots.snapshot_date is not null as has_snapshot,
        snapshots.quantity_on_hand,
        snapshots.is_stock_out,
        coalesce(daily_sales.units_sold, 0) as units_sold
    from snapshots
    full outer join daily_sales
        on snapshots.snapshot_date = daily_sales.order_date
        and snapshots.store_id = daily_sales.store_id
        and snapshots.product_id = daily_sales.product_id
),

trailing_sums as (
    select
        activity_date as snapshot_date,
        store_id,
        product_id,
        has_snapshot,
        quantity_on_hand,
        is_stock_out,
        sum(units_sold) over last_28_days as units_sold_28d,
        sum(case when is_stock_out then 1 else 0 end) over last_28_days as stock_out_days_28d
    from store_product_days
    window last_28_days as (
        partition by store_id, product_id
        order by activity_date
        range between interval '27 days' preceding and current row
    )
),

joined as (
    select
        snapshot_date,
        store_id,
        product_id,
        quantity_on_hand,
        is_stock_out,
        {{ as_count('units_sold_28d') }} as units_sold_28d,
        {{ as_count('stock_out_days_28d') }} as stock_out_days_28d
    from trailing_sums
    where has_snapshot
        and {{ partition_filter('snapshot_date') }}
)

select
    snapshot_date,
    store_id,
    product_id,
    quantity_on_hand,
    units_sold_28d,
    {{ safe_divide('units_sold_28d', 28) }} as average_daily_units_sold_28d,
    {{ safe_divide('quantity_on_hand * 28', 'units_sold_28d', 2) }} as days_of_cover,
    is_stock_out,
    stock_out_days_28d,
    -- days of cover < 7, compared exactly: on_hand / (units_28d / 28) < 7
    units_sold_28d > 0 and quantity_on_hand * 28 < 7 * units_sold_28d as is_low_stock,
    {{ safe_divide('units_sold_28d', 'units_sold_28d + quantity_on_hand') }} as sell_through_rate_28d
from joined
