"""X's rate limits per account and operation, as observed (15-minute windows), with their sources.

One table for both sides: the account pool's capacity takes it for an operation no account has learned yet
(``core/pools/capacity.py``), and the emulator enforces it (``emulator/settings.py``).
"""

X_WINDOW_S = 900.0

# Per-account, per-operation requests per window, as observed on X (15-minute windows). Sources of the
# later additions: twikit's table of X's limits (d60/twikit ratelimits.md: UserMedia, ListMembers,
# BlueVerifiedFollowers, UserCreatorSubscriptions 500), a rate-limit checker reading X's
# x-rate-limit-limit headers (BANKA2017/twitter-monitor-assets rate_limit/readme.md: list_member 500,
# community_info 50, community_timeline 500). No public number was found for the community member and
# moderator slices or AboutAccountQuery: those are guesses, marked below.
X_RATE_LIMITS: dict[str, int] = {
    "SearchTimeline": 50,
    "UserTweets": 50,
    "UserTweetsAndReplies": 50,
    "Followers": 50,
    "UserByScreenName": 95,
    "TweetDetail": 150,
    "Following": 500,
    "Retweeters": 500,
    "ListLatestTweetsTimeline": 500,
    "UserByRestId": 500,
    "GenericTimelineById": 500,
    "UserMedia": 500,  # twikit ratelimits.md; ARCHITECTURE.md's observed limits
    "ListMembers": 500,  # twikit ratelimits.md; twitter-monitor-assets (graphql:list_member)
    "BlueVerifiedFollowers": 500,  # twikit ratelimits.md
    "UserCreatorSubscriptions": 500,  # twikit ratelimits.md
    "CommunityQuery": 50,  # twitter-monitor-assets (graphql:community_info)
    "CommunityTweetsTimeline": 500,  # twitter-monitor-assets (graphql:community_timeline)
    "membersSliceTimeline_Query": 500,  # a guess: the usual limit of X's list reads
    "moderatorsSliceTimeline_Query": 500,  # a guess, as the members slice
    "AboutAccountQuery": 50,  # a guess: browser extensions calling it per account report quick 429s
    # twitter-api-client's readme table of X's limits: tweets_by_ids (TweetResultsByRestIds) 500 / 15 min,
    # tweets_by_id (TweetResultByRestId) 50 / 15 min.
    "TweetResultsByRestIds": 500,
    "TweetResultByRestId": 50,
}
