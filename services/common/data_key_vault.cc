#include "services/common/data_key_vault.h"

#include "absl/strings/str_cat.h"

namespace peerwell {
namespace {

constexpr size_t kMaxCachedKeys = 50'000;

}  // namespace

std::string DataKeyVault::Aad(const std::string& organization_id, const std::string& owner_id,
                              const std::string& record) const {
  return absl::StrCat(family_.aad_label, "|", organization_id, "|", owner_id, "|", record);
}

std::string DataKeyVault::DataKeyKey(const std::string& organization_id,
                                     const std::string& owner_id) const {
  return absl::StrCat("pw:{", organization_id, "}:", family_.service, ":datakey:", owner_id);
}

absl::StatusOr<std::string> DataKeyVault::DataKey(const std::string& organization_id,
                                                  const std::string& owner_id, bool create) {
  std::string cache_key = absl::StrCat(organization_id, "/", owner_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(cache_key);
    if (it != keys_.end() && clock_.Now() < it->second.expires) return it->second.key;
  }
  std::string redis_key = DataKeyKey(organization_id, owner_id);
  auto stored = redis_.Execute({"GET", redis_key});
  if (!stored.ok()) return stored.status();
  if (stored->IsNil()) {
    if (!create) return absl::DataLossError("the data key no longer exists");
    auto fresh = NewDataKey();
    if (!fresh.ok()) return fresh.status();
    auto wrapped = master_.Wrap(*fresh, organization_id, owner_id);
    if (!wrapped.ok()) return wrapped.status();
    // SET NX then GET: whoever wrote first wins, and everyone uses that key.
    auto replies = redis_.ExecuteAll({{"SET", redis_key, *wrapped, "NX"}, {"GET", redis_key}});
    if (!replies.ok()) return replies.status();
    stored = std::move(replies->back());
    if (stored->IsNil()) return absl::UnavailableError("could not store the data key");
  }
  auto key = master_.Unwrap(stored->str, organization_id, owner_id);
  if (!key.ok()) return key.status();
  std::lock_guard<std::mutex> lock(mu_);
  if (keys_.size() >= kMaxCachedKeys) keys_.clear();
  keys_[cache_key] = CachedKey{*key, clock_.Now() + kDataKeyCacheTtl};
  return key;
}

absl::StatusOr<std::string> DataKeyVault::Seal(const std::string& organization_id,
                                               const std::string& owner_id,
                                               const std::string& record, const std::string& text) {
  auto key = DataKey(organization_id, owner_id, /*create=*/true);
  if (!key.ok()) return key.status();
  return SealAesGcm(*key, text, Aad(organization_id, owner_id, record));
}

absl::StatusOr<std::string> DataKeyVault::Open(const std::string& organization_id,
                                               const std::string& owner_id,
                                               const std::string& record,
                                               const std::string& sealed) {
  auto key = DataKey(organization_id, owner_id, /*create=*/false);
  if (!key.ok()) return key.status();
  return OpenAesGcm(*key, sealed, Aad(organization_id, owner_id, record));
}

}  // namespace peerwell
