/* ls_proto.h — the generated lodestone.v1 types under short names.
 * The generated names (Lodestone__V1__Sme) are long; code in this project uses
 * these aliases. */
#ifndef LS_PROTO_H
#define LS_PROTO_H

#include "lodestone/v1/lodestone.pb-c.h"

typedef Lodestone__V1__Status ls_status_pb;
typedef Lodestone__V1__FieldError ls_field_error_pb;
typedef Lodestone__V1__Contact ls_contact_pb;
typedef Lodestone__V1__MoneyRange ls_money_range_pb;
typedef Lodestone__V1__Sme ls_sme_pb;
typedef Lodestone__V1__Investor ls_investor_pb;
typedef Lodestone__V1__Opportunity ls_opportunity_pb;
typedef Lodestone__V1__Entity ls_entity_pb;
typedef Lodestone__V1__ChangeEvent ls_change_event_pb;
typedef Lodestone__V1__FacetScore ls_facet_score_pb;
typedef Lodestone__V1__Match ls_match_pb;
typedef Lodestone__V1__MatchEvent ls_match_event_pb;
typedef Lodestone__V1__Notification ls_notification_pb;
typedef Lodestone__V1__Heartbeat ls_heartbeat_pb;
typedef Lodestone__V1__MatchParty ls_match_party_pb;
typedef Lodestone__V1__Subscription ls_subscription_pb;
typedef Lodestone__V1__SubscriptionFilter ls_filter_pb;
typedef Lodestone__V1__Channels ls_channels_pb;
typedef Lodestone__V1__Interest ls_interest_pb;
typedef Lodestone__V1__Envelope ls_envelope_pb;
typedef Lodestone__V1__Reply ls_reply_pb;

#define LS_PROTOCOL_VERSION 1

#endif
