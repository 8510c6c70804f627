-- Collected accounts per country (or region) X says they are based in, from their current facts: how many X
-- does not call accurately placed, signed up through each kind of source, changed handle, or had their
-- identity checked. Accounts X answered as not found or suspended count under their last known country.
select
    coalesce(account_based_in, 'unknown') as account_based_in,
    count(*) as accounts,
    count(*) filter (where location_accurate = false) as location_not_accurate,
    count(*) filter (where created_country_accurate = false) as created_country_not_accurate,
    count(*) filter (where source = 'Web') as signed_up_on_web,
    count(*) filter (where source like '%App Store') as signed_up_app_store,
    count(*) filter (where source = 'Google Play') as signed_up_google_play,
    count(*) filter (where username_changes > 0) as changed_handle,
    count(*) filter (where is_identity_verified) as identity_verified,
    count(*) filter (where status <> 'available') as not_available_now
from {{ source('lake', 'entities_about_accounts') }}
group by 1
