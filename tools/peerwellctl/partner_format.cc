#include "tools/peerwellctl/partner_format.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/format.h"

namespace peerwell::ctl {

absl::StatusOr<checkin_v1::AggregatePeriod> ParseAggregatePeriod(absl::string_view flag,
                                                                 absl::string_view text) {
  static constexpr EnumName<checkin_v1::AggregatePeriod> kPeriods[] = {
      {"month", checkin_v1::AGGREGATE_PERIOD_MONTH}, {"week", checkin_v1::AGGREGATE_PERIOD_WEEK}};
  return ParseWord(kPeriods, "aggregate-period-", flag, text);
}

std::string AggregatesTable(const checkin_v1::GetAggregatesResponse& response, bool by_kind) {
  std::vector<std::string> header{"PERIOD"};
  if (by_kind) header.push_back("SESSION KIND");
  header.insert(header.end(), {"VOLUNTEERS", "MEAN", "BANDS"});
  std::vector<std::vector<std::string>> rows;
  for (const checkin_v1::AggregateCell& cell : response.cells()) {
    std::vector<std::string> row{absl::FormatTime(
        "%Y-%m-%d", absl::FromUnixSeconds(cell.period_start_time().seconds()),
        absl::UTCTimeZone())};
    if (by_kind) row.push_back(cell.session_kind().empty() ? "-" : cell.session_kind());
    if (cell.suppressed()) {
      row.insert(row.end(), {"<5", "-", "suppressed: fewer than 5 volunteers"});
    } else {
      std::vector<std::string> bands;
      for (const checkin_v1::BandCount& band : cell.band_counts()) {
        bands.push_back(absl::StrCat(band.band(), " ", band.count()));
      }
      row.insert(row.end(), {absl::StrCat(cell.volunteer_count()), FormatScoreValue(cell.mean()),
                             absl::StrJoin(bands, ", ")});
    }
    rows.push_back(std::move(row));
  }
  return FormatTable(header, rows);
}

std::string WebhooksTable(const webhooks_v1::ListWebhooksResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const webhooks_v1::Webhook& webhook : response.webhooks()) {
    rows.push_back({webhook.webhook_id(), FormatTimestamp(webhook.create_time()),
                    absl::StrJoin(webhook.event_types(), ","), webhook.url()});
  }
  return FormatTable({"ID", "CREATED", "EVENTS", "URL"}, rows);
}

std::string DeliveriesTable(const webhooks_v1::ListWebhookDeliveriesResponse& response) {
  std::vector<std::vector<std::string>> rows;
  for (const webhooks_v1::WebhookDelivery& delivery : response.deliveries()) {
    std::string answer = delivery.http_status() != 0 ? absl::StrCat(delivery.http_status())
                                                     : absl::StrCat("none: ", delivery.error());
    absl::Duration took = absl::Seconds(delivery.duration().seconds()) +
                          absl::Nanoseconds(delivery.duration().nanos());
    rows.push_back({FormatTimestamp(delivery.attempt_time()), delivery.event_id(),
                    delivery.event_type(), absl::StrCat(delivery.attempt()), answer,
                    absl::StrCat(absl::ToInt64Milliseconds(took), " ms"),
                    delivery.has_next_attempt_time() ? FormatTimestamp(delivery.next_attempt_time())
                                                     : "-"});
  }
  return FormatTable({"TIME", "EVENT", "TYPE", "ATTEMPT", "ANSWER", "TOOK", "NEXT ATTEMPT"}, rows);
}

}  // namespace peerwell::ctl
