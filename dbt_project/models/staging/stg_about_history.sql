-- Every fact set X's "About this account" showed for an account, in the order XGet observed them, with the
-- one before it (null for the first observation).
select
    user_id,
    observed_at,
    status,
    username,
    account_based_in,
    location_accurate,
    source,
    username_changes,
    lag(observed_at) over w as previous_observed_at,
    lag(status) over w as previous_status,
    lag(username) over w as previous_username,
    lag(account_based_in) over w as previous_account_based_in,
    lag(location_accurate) over w as previous_location_accurate,
    lag(source) over w as previous_source,
    lag(username_changes) over w as previous_username_changes
from {{ source('lake', 'cleaned_about_account_history') }}
window w as (partition by user_id order by observed_at)
