#include "services/checkin/note_vault.h"

#include "absl/strings/str_cat.h"
#include "services/checkin/redis_checkin_store.h"

namespace peerwell::checkin {
namespace {

constexpr size_t kMaxCachedKeys = 50'000;

std::string NoteAad(const std::string& organization_id, const std::string& volunteer_id,
                    const std::string& record) {
  return absl::StrCat("peerwell note|", organization_id, "|", volunteer_id, "|", record);
}

}  // namespace

absl::StatusOr<std::string> NoteVault::DataKey(const std::string& organization_id,
                                               const std::string& volunteer_id, bool create) {
  std::string cache_key = absl::StrCat(organization_id, "/", volunteer_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(cache_key);
    if (it != keys_.end() && clock_.Now() < it->second.expires) return it->second.key;
  }
  std::string redis_key = DataKeyKey(organization_id, volunteer_id);
  auto stored = redis_.Execute({"GET", redis_key});
  if (!stored.ok()) return stored.status();
  if (stored->IsNil()) {
    if (!create) return absl::DataLossError("the volunteer's data key no longer exists");
    auto fresh = NewDataKey();
    if (!fresh.ok()) return fresh.status();
    auto wrapped = master_.Wrap(*fresh, organization_id, volunteer_id);
    if (!wrapped.ok()) return wrapped.status();
    // SET NX then GET: whoever wrote first wins, and everyone uses that key.
    auto replies = redis_.ExecuteAll({{"SET", redis_key, *wrapped, "NX"}, {"GET", redis_key}});
    if (!replies.ok()) return replies.status();
    stored = std::move(replies->back());
    if (stored->IsNil()) return absl::UnavailableError("could not store the data key");
  }
  auto key = master_.Unwrap(stored->str, organization_id, volunteer_id);
  if (!key.ok()) return key.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (keys_.size() >= kMaxCachedKeys) keys_.clear();
  keys_[cache_key] = CachedKey{*key, clock_.Now() + kDataKeyCacheTtl};
  return key;
}

absl::StatusOr<std::string> NoteVault::Seal(const std::string& organization_id,
                                            const std::string& volunteer_id,
                                            const std::string& record, const std::string& text) {
  auto key = DataKey(organization_id, volunteer_id, /*create=*/true);
  if (!key.ok()) return key.status();
  return SealAesGcm(*key, text, NoteAad(organization_id, volunteer_id, record));
}

absl::StatusOr<std::string> NoteVault::Open(const std::string& organization_id,
                                            const std::string& volunteer_id,
                                            const std::string& record, const std::string& sealed) {
  auto key = DataKey(organization_id, volunteer_id, /*create=*/false);
  if (!key.ok()) return key.status();
  return OpenAesGcm(*key, sealed, NoteAad(organization_id, volunteer_id, record));
}

}  // namespace peerwell::checkin
