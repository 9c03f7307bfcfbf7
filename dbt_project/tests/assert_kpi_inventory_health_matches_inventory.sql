-- Inventory identity: kpi_inventory_health has exactly the snapshots of fct_inventory_daily with
-- the same stock on hand; the stock-out flag follows the stock; the 28-day counts are bounded
-- and include the day's own sales.
with kpi as (
    select * from {{ ref('kpi_inventory_health') }}
    where {{ partition_filter('snapshot_date') }}
),

inventory as (
    select * from {{ ref('fct_inventory_daily') }}
    where {{ partition_filter('snapshot_date') }}
)

select
    coalesce(kpi.snapshot_date, inventory.snapshot_date) as snapshot_date,
    coalesce(kpi.store_id, inventory.store_id) as store_id,
    coalesce(kpi.product_id, inventory.product_id) as product_id
from kpi
full outer join inventory
    on kpi.snapshot_date = inventory.snapshot_date
    and kpi.store_id = inventory.store_id
    and kpi.product_id = inventory.product_id
where kpi.snapshot_date is null
    or inventory.snapshot_date is null
    or kpi.quantity_on_hand <> inventory.quantity_on_hand
    or kpi.is_stock_out <> (inventory.quantity_on_hand = 0)
    or kpi.stock_out_days_28d not between 0 and 28
    or (kpi.is_stock_out and kpi.stock_out_days_28d < 1)
    or kpi.units_sold_28d < inventory.units_sold
