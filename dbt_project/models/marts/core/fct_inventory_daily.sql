{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='snapshot_date') }}

with snapshots as (
    select * from {{ ref('stg_inventory_snapshots') }}
),

-- The persisted lines of the window: the enriched view would be computed again per reader.
order_lines as (
    select * from {{ ref('fct_order_lines') }}
    where {{ partition_filter('order_date') }}
),

movements as (
    select
        order_date,
        store_id,
        product_id,
        {{ as_count('sum(case when not is_return_line then quantity else 0 end)') }} as units_sold,
        {{ as_count('sum(case when is_return_line then -quantity else 0 end)') }} as units_returned
    from order_lines
    where not is_cancelled_order
    group by order_date, store_id, product_id
)

select
    snapshots.snapshot_date,
    snapshots.store_id,
    snapshots.product_id,
    snapshots.quantity_on_hand,
    snapshots.quantity_received,
    snapshots.quantity_on_order,
    coalesce(movements.units_sold, 0) as units_sold,
    coalesce(movements.units_returned, 0) as units_returned,
    snapshots.quantity_on_hand = 0 as is_stock_out
from snapshots
left join movements
    on snapshots.snapshot_date = movements.order_date
    and snapshots.store_id = movements.store_id
    and snapshots.product_id = movements.product_id
