-- One row per change XGet saw in an account's "About this account" facts: its handle, the country X places it
-- in, whether X calls that accurate, its sign-up source, the handle changes X counts, its status. An account
-- that moved country and changed handle at once is one row with both flags.
select
    user_id,
    observed_at,
    previous_observed_at,
    previous_username as username_before,
    username as username_after,
    previous_account_based_in as country_before,
    account_based_in as country_after,
    previous_location_accurate as location_accurate_before,
    location_accurate as location_accurate_after,
    username_changes as x_username_changes,
    username is distinct from previous_username as handle_changed,
    account_based_in is distinct from previous_account_based_in as country_changed,
    location_accurate is distinct from previous_location_accurate as accuracy_changed,
    source is distinct from previous_source as source_changed,
    username_changes is distinct from previous_username_changes as x_count_changed,
    status is distinct from previous_status as status_changed,
    status
from {{ ref('stg_about_history') }}
where previous_observed_at is not null
