-- One row per calendar day from var date_spine_start to date_spine_end, with retail holidays.
-- Generated portably by the date_series macro (generate_series on DuckDB and PostgreSQL).
with days as (
    select date_day
    from {{ date_series(date_literal(var('date_spine_start')), date_literal(var('date_spine_end'))) }} as spine
),

parts as (
    select
        date_day,
        {{ date_part_int('year', 'date_day') }} as year_number,
        {{ date_part_int('quarter', 'date_day') }} as quarter_number,
        {{ date_part_int('month', 'date_day') }} as month_number,
        {{ date_part_int('day', 'date_day') }} as day_of_month,
        {{ iso_day_of_week('date_day') }} as iso_day_of_week,
        {{ date_part_int('week', 'date_day') }} as iso_week_number,
        {{ trunc_date('week', 'date_day') }} as week_start_date,
        {{ trunc_date('month', 'date_day') }} as month_start_date,
        {{ trunc_date('quarter', 'date_day') }} as quarter_start_date,
        {{ trunc_date('year', 'date_day') }} as year_start_date
    from days
),

holiday_dates as (
    select
        *,
        -- Thanksgiving (US) is the fourth Thursday of November; Black Friday follows it and
        -- Cyber Monday is the Monday after.
        {{ add_days(
            "make_date(year_number, 11, 1)",
            "(11 - " ~ iso_day_of_week("make_date(year_number, 11, 1)") ~ ") % 7 + 22"
        ) }} as black_friday_date
    from parts
),

flagged as (
    select
        *,
        iso_day_of_week in (6, 7) as is_weekend,
        date_day = black_friday_date as is_black_friday,
        date_day = {{ add_days('black_friday_date', 3) }} as is_cyber_monday,
        month_number = 12 and day_of_month = 24 as is_christmas_eve,
        month_number = 12 and day_of_month = 25 as is_christmas_day,
        month_number = 12 and day_of_month = 26 as is_boxing_day,
        month_number = 12 and day_of_month = 31 as is_new_years_eve,
        month_number = 1 and day_of_month = 1 as is_new_years_day,
        month_number = 2 and day_of_month = 14 as is_valentines_day
    from holiday_dates
)

select
    date_day,
    year_number,
    quarter_number,
    month_number,
    case month_number
        when 1 then 'January' when 2 then 'February' when 3 then 'March' when 4 then 'April'
        when 5 then 'May' when 6 then 'June' when 7 then 'July' when 8 then 'August'
        when 9 then 'September' when 10 then 'October' when 11 then 'November' else 'December'
    end as month_name,
    day_of_month,
    iso_day_of_week,
    case iso_day_of_week
        when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday' when 4 then 'Thursday'
        when 5 then 'Friday' when 6 then 'Saturday' else 'Sunday'
    end as day_name,
    iso_week_number,
    week_start_date,
    month_start_date,
    quarter_start_date,
    year_start_date,
    is_weekend,
    is_black_friday,
    is_cyber_monday,
    is_christmas_eve,
    is_christmas_day,
    is_boxing_day,
    is_new_years_eve,
    is_new_years_day,
    is_valentines_day,
    case
        when is_black_friday then 'Black Friday'
        when is_cyber_monday then 'Cyber Monday'
        when is_christmas_eve then 'Christmas Eve'
        when is_christmas_day then 'Christmas Day'
        when is_boxing_day then 'Boxing Day'
        when is_new_years_eve then 'New Year''s Eve'
        when is_new_years_day then 'New Year''s Day'
        when is_valentines_day then 'Valentine''s Day'
    end as holiday_name,
    (is_black_friday or is_cyber_monday or is_christmas_eve or is_christmas_day or is_boxing_day
        or is_new_years_eve or is_new_years_day or is_valentines_day) as is_holiday
from flagged
