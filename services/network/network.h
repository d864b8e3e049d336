#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace peerwell::network {

// The domain types of the peer network. Numbering follows the wire contract (SPEC Appendix B).

enum class ChannelKind { kUnspecified = 0, kGroup = 1, kDirect = 2, kBuddy = 3, kAnnouncement = 4 };

struct Channel {
  std::string channel_id;
  std::string organization_id;
  ChannelKind kind = ChannelKind::kUnspecified;
  std::string display_name;
  std::vector<std::string> member_ids;
  std::vector<std::string> invited_ids;
  absl::Duration retention = absl::ZeroDuration();
  int64_t last_sequence = 0;
  // The lowest sequence still kept: messages below it were removed by retention.
  int64_t first_sequence = 1;
  int64_t unread_count = 0;  // the reader's, filled per caller
  std::string creator_id;
  // DIRECT and BUDDY: "<kind>:<a>:<b>" for the pair, so that one channel exists per pair.
  std::string pair_key;
  absl::Time create_time = absl::InfinitePast();

  bool HasMember(const std::string& person_id) const;
  bool IsInvited(const std::string& person_id) const;
};

struct Message {
  std::string message_id;
  std::string channel_id;
  int64_t sequence = 0;
  std::string author_id;
  std::string author_display_name;
  std::string body;  // empty once deleted
  std::string reply_to_message_id;
  std::string thread_root_message_id;  // its own id for a message that starts a thread
  absl::Time create_time = absl::InfinitePast();
  bool deleted = false;
};

struct ReadMarker {
  std::string channel_id;
  std::string person_id;
  int64_t sequence = 0;
  absl::Time update_time = absl::InfinitePast();
};

struct NetworkSettings {
  bool read_receipts = false;
};

enum class ReportState { kUnspecified = 0, kOpen = 1, kResolved = 2 };
enum class ReportAction { kUnspecified = 0, kDismiss = 1, kDeleteMessage = 2 };

struct Report {
  std::string report_id;
  std::string channel_id;
  std::string message_id;
  std::string reason;
  ReportState state = ReportState::kOpen;
  ReportAction action = ReportAction::kUnspecified;
  absl::Time create_time = absl::InfinitePast();
  std::string reporter_id;
  absl::Time resolve_time = absl::InfinitePast();
  std::string resolved_by;
  std::string note;
};

// Everything the peer network holds about one person: its part of their data export (GDPR
// articles 15 and 20).
struct PersonRecords {
  std::vector<Channel> channels;  // they belong to or are invited to, with their unread counts
  std::vector<Message> messages;  // they posted, bodies opened
  std::vector<ReadMarker> read_markers;
  std::optional<NetworkSettings> settings;  // absent when they never changed the defaults
  std::vector<Report> reports;              // they filed, reasons opened
};

// The record families of the export, as ExportPersonRecords names them.
inline constexpr char kChannelsFamily[] = "channels";
inline constexpr char kMessagesFamily[] = "messages";
inline constexpr char kReadMarkersFamily[] = "readMarkers";
inline constexpr char kSettingsFamily[] = "settings";
inline constexpr char kReportsFamily[] = "reports";

enum class NetworkEventType {
  kUnspecified = 0,
  kMessagePosted = 1,
  kMessageDeleted = 2,
  kChannelUpdated = 3
};

inline constexpr absl::Duration kDefaultRetention = absl::Hours(24 * 180);
inline constexpr absl::Duration kMinRetention = absl::Hours(24);
inline constexpr absl::Duration kMaxRetention = absl::Hours(24 * 3653);
inline constexpr size_t kMaxBodyChars = 4000;
inline constexpr size_t kMaxDisplayNameChars = 100;
inline constexpr size_t kMaxReasonChars = 1000;
inline constexpr size_t kMaxNoteChars = 1000;
inline constexpr int kMaxMembers = 500;
inline constexpr int kMaxCursors = 1000;

// How a message of an erased person is shown (GDPR article 17): it keeps its place, its thread
// and its time, with no author id, no body and this name.
inline constexpr char kFormerMember[] = "former member";

// Reasons named first in FAILED_PRECONDITION messages.
inline constexpr char kBuddyNotAccepted[] = "BUDDY_NOT_ACCEPTED";
inline constexpr char kPeerLeft[] = "PEER_LEFT";
inline constexpr char kAnnouncementChannel[] = "ANNOUNCEMENT_CHANNEL";
inline constexpr char kReportResolved[] = "REPORT_RESOLVED";
inline constexpr char kMessageDeleted[] = "MESSAGE_DELETED";

}  // namespace peerwell::network
