-- Row identities of kpi_daily_sales: net = gross - discounts - returns; margin = net - COGS.
select *
from {{ ref('kpi_daily_sales') }}
where {{ partition_filter('sales_date') }}
    and (
        net_revenue <> gross_revenue - discounts - returns_value
        or gross_margin <> net_revenue - cost_of_goods
        or units_sold < 0
        or units_returned < 0
    )
