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

current_snapshots as (
    select * from snapshots
    where {{ partition_filter('snapshot_date') }}
),

stock_outs_28d as (
    select
        current_snapshots.snapshot_date,
        current_snapshots.store_id,
        current_snapshots.product_id,
        {{ as_count('sum(case when history.is_stock_out then 1 else 0 end)') }} as stock_out_days_28d
    from current_snapshots
    inner join snapshots as history
        on current_snapshots.store_id = history.store_id
        and current_snapshots.product_id = history.product_id
        and history.snapshot_date between {{ add_days('current_snapshots.snapshot_date', -27) }} and current_snapshots.snapshot_date
    group by current_snapshots.snapshot_date, current_snapshots.store_id, current_snapshots.product_id
),

sales_28d as (
    select
        current_snapshots.snapshot_date,
        current_snapshots.store_id,
        current_snapshots.product_id,
        {{ as_count('sum(daily_sales.units_sold)') }} as units_sold_28d
    from current_snapshots
    inner join daily_sales
        on current_snapshots.store_id = daily_sales.store_id
        and current_snapshots.product_id = daily_sales.product_id
        and daily_sales.order_date between {{ add_days('current_snapshots.snapshot_date', -27) }} and current_snapshots.snapshot_date
    group by current_snapshots.snapshot_date, current_snapshots.store_id, current_snapshots.product_id
),

joined as (
    select
        current_snapshots.snapshot_date,
        current_snapshots.store_id,
        current_snapshots.product_id,
        current_snapshots.quantity_on_hand,
        current_snapshots.is_stock_out,
        coalesce(sales_28d.units_sold_28d, 0) as units_sold_28d,
        coalesce(stock_outs_28d.stock_out_days_28d, 0) as stock_out_days_28d
    from current_snapshots
    left join sales_28d
        on current_snapshots.snapshot_date = sales_28d.snapshot_date
        and current_snapshots.store_id = sales_28d.store_id
        and current_snapshots.product_id = sales_28d.product_id
    left join stock_outs_28d
        on current_snapshots.snapshot_date = stock_outs_28d.snapshot_date
        and current_snapshots.store_id = stock_outs_28d.store_id
        and current_snapshots.product_id = stock_outs_28d.product_id
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
