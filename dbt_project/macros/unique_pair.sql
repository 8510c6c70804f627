{% test dbt_utils_free_unique_pair(model, columns) %}
-- Rows whose combination of `columns` is not unique (a generic test, without the dbt_utils package).
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
