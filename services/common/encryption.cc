#include "services/common/encryption.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace peerwell {
namespace {

constexpr char kFormatV1 = '\x01';
constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(absl::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

absl::Status Broken() {
  return absl::DataLossError("sealed data does not open: altered or misplaced");
}

std::string DataKeyAad(absl::string_view organization_id, absl::string_view volunteer_id) {
  return absl::StrCat("peerwell data key|", organization_id, "|", volunteer_id);
}

}  // namespace

absl::StatusOr<std::string> NewDataKey() {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKeyBytes) != 1) {
    return absl::InternalError("no secure random bytes for a data key");
  }
  return key;
}

absl::StatusOr<std::string> SealAesGcm(absl::string_view key, absl::string_view plaintext,
                                       absl::string_view aad) {
  if (key.size() != kKeyBytes) return absl::InternalError("AES-256-GCM needs a 32-byte key");
  std::string out(1 + kNonceBytes + plaintext.size() + kTagBytes, '\0');
  out[0] = kFormatV1;
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + 1);
  auto* cipher = nonce + kNonceBytes;
  if (RAND_bytes(nonce, kNonceBytes) != 1) return absl::InternalError("no random nonce");
  CipherContext context(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  if (context == nullptr ||
      EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(context.get(), nullptr, nullptr, Bytes(key), nonce) != 1 ||
      EVP_EncryptUpdate(context.get(), nullptr, &length, Bytes(aad), aad.size()) != 1 ||
      EVP_EncryptUpdate(context.get(), cipher, &length, Bytes(plaintext), plaintext.size()) != 1 ||
      EVP_EncryptFinal_ex(context.get(), cipher + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          cipher + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> OpenAesGcm(absl::string_view key, absl::string_view sealed,
                                       absl::string_view aad) {
  if (key.size() != kKeyBytes) return absl::InternalError("AES-256-GCM needs a 32-byte key");
  if (sealed.size() < 1 + kNonceBytes + kTagBytes || sealed[0] != kFormatV1) return Broken();
  const unsigned char* nonce = Bytes(sealed) + 1;
  size_t cipher_size = sealed.size() - 1 - kNonceBytes - kTagBytes;
  const unsigned char* cipher = nonce + kNonceBytes;
  std::string tag(sealed.substr(1 + kNonceBytes + cipher_size));
  std::string plaintext(cipher_size, '\0');
  CipherContext context(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int length = 0;
  if (context == nullptr ||
      EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(context.get(), nullptr, nullptr, Bytes(key), nonce) != 1 ||
      EVP_DecryptUpdate(context.get(), nullptr, &length, Bytes(aad), aad.size()) != 1 ||
      EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &length,
                        cipher, cipher_size) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(context.get(),
                          reinterpret_cast<unsigned char*>(plaintext.data()) + length,
                          &length) != 1) {
    return Broken();
  }
  return plaintext;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string Sha256(absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), length);
}

absl::StatusOr<MasterKey> MasterKey::FromBase64(absl::string_view encoded) {
  std::string key;
  if (!absl::Base64Unescape(encoded, &key) || key.size() != kKeyBytes) {
    return absl::InvalidArgumentError("PEERWELL_MASTER_KEY: must be base64 of 32 bytes");
  }
  return MasterKey(std::move(key));
}

absl::StatusOr<std::string> MasterKey::Wrap(absl::string_view data_key,
                                            absl::string_view organization_id,
                                            absl::string_view volunteer_id) const {
  return SealAesGcm(key_, data_key, DataKeyAad(organization_id, volunteer_id));
}

absl::StatusOr<std::string> MasterKey::Unwrap(absl::string_view wrapped,
                                              absl::string_view organization_id,
                                              absl::string_view volunteer_id) const {
  return OpenAesGcm(key_, wrapped, DataKeyAad(organization_id, volunteer_id));
}

}  // namespace peerwell
