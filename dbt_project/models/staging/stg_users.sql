select user_id, username, display_name, followers_count, following_count, verified, blue_verified
from {{ source('lake', 'entities_users') }}
