-- Order lines of the partition window with their order's attributes and the product version
-- valid on the order date (its category and unit cost). Amounts per the line rules:
-- net = quantity * unit_price - sign(quantity) * discount_amount.
with order_lines as (
    select * from {{ ref('stg_order_lines') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

product_versions as (
    select * from {{ ref('int_product_versions') }}
),

joined as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.line_number,
        order_lines.order_date,
        orders.ordered_at,
        orders.store_id,
        orders.channel,
        orders.customer_id,
        orders.order_type,
        orders.order_status,
        coalesce(orders.order_status = 'cancelled', false) as is_cancelled_order,
        order_lines.product_id,
        product_versions.product_version_id,
        product_versions.category,
        order_lines.line_type,
        order_lines.line_type = 'return' as is_return_line,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.discount_amount,
        product_versions.unit_cost
    from order_lines
    left join orders
        on order_lines.order_id = orders.order_id
    left join product_versions
        on order_lines.product_id = product_versions.product_id
        -- the version valid that day; orders older than the first delivery use the first version
        and (order_lines.order_date >= product_versions.valid_from or product_versions.version_number = 1)
        and (product_versions.valid_to is null or order_lines.order_date < product_versions.valid_to)
),

amounts as (
    select
        *,
        {{ money('quantity * unit_price') }} as gross_amount,
        {{ money('quantity * unit_price - sign(quantity) * discount_amount') }} as net_amount,
        {{ money('quantity * unit_cost') }} as cost_amount
    from joined
)

select
    *,
    {{ money('net_amount - cost_amount') }} as margin_amount
from amounts
