-- The executive summary's daily net revenue equals kpi_daily_sales summed over the day.
with sales as (
    select sales_date, sum(net_revenue) as net_revenue
    from {{ ref('kpi_daily_sales') }}
    where {{ partition_filter('sales_date') }}
    group by sales_date
)

select summary.summary_date, summary.net_revenue, sales.net_revenue as sales_net_revenue
from {{ ref('kpi_executive_summary') }} as summary
left join sales
    on summary.summary_date = sales.sales_date
where {{ partition_filter('summary.summary_date') }}
    and summary.net_revenue <> coalesce(sales.net_revenue, 0)
