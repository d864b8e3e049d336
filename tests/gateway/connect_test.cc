// The gateway's Connect protocol pieces and its transcoding through the services' descriptors.
#include "services/gateway/connect.h"

#include "gtest/gtest.h"
#include "peerwell/network/v1/network.pb.h"

namespace peerwell::gateway {
namespace {

TEST(FindMethodTest, ServesEveryUnaryAndServerStreamingRpcOfTheSuiteByItsPath) {
  auto post = FindMethod("/peerwell.network.v1.PeerNetworkService/PostMessage");
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_FALSE(post->server_streaming);
  EXPECT_EQ(post->descriptor->input_type()->full_name(), "peerwell.network.v1.PostMessageRequest");
  auto watch = FindMethod("/peerwell.alerts.v1.AlertService/WatchAlerts");
  ASSERT_TRUE(watch.ok()) << watch.status();
  EXPECT_TRUE(watch->server_streaming);
  // Every method of every served service is found without a line of gateway code per RPC.
  int methods = 0;
  for (const auto* service : ServedServices()) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      std::string path = "/" + service->full_name() + "/" + std::string(service->method(i)->name());
      EXPECT_TRUE(FindMethod(path).ok()) << path;
      ++methods;
    }
  }
  EXPECT_GT(methods, 60);
}

TEST(FindMethodTest, AnythingElseIsUnimplemented) {
  for (const char* path :
       {"/", "/peerwell.network.v1.PeerNetworkService",
        "/peerwell.network.v1.PeerNetworkService/Nope", "/peerwell.bench.v1.BenchService/Empty",
        "/grpc.health.v1.Health/Check", "peerwell.network.v1.PeerNetworkService/PostMessage"}) {
    EXPECT_EQ(FindMethod(path).status().code(), absl::StatusCode::kUnimplemented) << path;
  }
}

TEST(TranscodingTest, JsonRoundTripsThroughTheServicesProtobuf) {
  auto post = FindMethod("/peerwell.network.v1.PeerNetworkService/PostMessage");
  ASSERT_TRUE(post.ok());
  auto bytes = JsonToRequest(
      *post, R"({"channelId": "ch1", "body": "hello é", "clientMessageId": "phone-1"})");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  network::v1::PostMessageRequest request;
  ASSERT_TRUE(request.ParseFromString(*bytes));
  EXPECT_EQ(request.channel_id(), "ch1");
  EXPECT_EQ(request.body(), "hello é");
  EXPECT_EQ(request.client_message_id(), "phone-1");
  // Proto field names are accepted too; an empty body is the empty request.
  EXPECT_TRUE(JsonToRequest(*post, R"({"channel_id": "ch1"})").ok());
  auto empty = JsonToRequest(*post, "  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());

  network::v1::PostMessageResponse response;
  response.mutable_message()->set_sequence(7);
  response.mutable_message()->set_message_id("m1");
  response.mutable_message()->mutable_create_time()->set_seconds(1790000000);
  auto json = ResponseToJson(*post, response.SerializeAsString());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json,
            R"({"message":{"messageId":"m1","sequence":"7","createTime":"2026-09-21T14:13:20Z"}})");
}

TEST(TranscodingTest, BadJsonIsInvalidArgumentAndNeverReachesAService) {
  auto post = FindMethod("/peerwell.network.v1.PeerNetworkService/PostMessage");
  ASSERT_TRUE(post.ok());
  for (const char* json : {"{", "[]", R"({"nosuchField": 1})", R"({"body": 5})",
                           R"({"channelId": "a", "channelId": })"}) {
    auto bytes = JsonToRequest(*post, json);
    EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument) << json;
  }
}

TEST(ConnectErrorsTest, EachCodeHasTheProtocolsNameAndHttpStatus) {
  struct Case {
    grpc::StatusCode code;
    const char* name;
    int http;
  };
  for (const Case& c :
       std::vector<Case>{{grpc::StatusCode::CANCELLED, "canceled", 499},
                         {grpc::StatusCode::UNKNOWN, "unknown", 500},
                         {grpc::StatusCode::INVALID_ARGUMENT, "invalid_argument", 400},
                         {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline_exceeded", 504},
                         {grpc::StatusCode::NOT_FOUND, "not_found", 404},
                         {grpc::StatusCode::ALREADY_EXISTS, "already_exists", 409},
                         {grpc::StatusCode::PERMISSION_DENIED, "permission_denied", 403},
                         {grpc::StatusCode::RESOURCE_EXHAUSTED, "resource_exhausted", 429},
                         {grpc::StatusCode::FAILED_PRECONDITION, "failed_precondition", 400},
                         {grpc::StatusCode::ABORTED, "aborted", 409},
                         {grpc::StatusCode::OUT_OF_RANGE, "out_of_range", 400},
                         {grpc::StatusCode::UNIMPLEMENTED, "unimplemented", 501},
                         {grpc::StatusCode::INTERNAL, "internal", 500},
                         {grpc::StatusCode::UNAVAILABLE, "unavailable", 503},
                         {grpc::StatusCode::DATA_LOSS, "data_loss", 500},
                         {grpc::StatusCode::UNAUTHENTICATED, "unauthenticated", 401}}) {
    EXPECT_EQ(ConnectCodeName(c.code), c.name);
    EXPECT_EQ(ConnectCodeFromName(c.name), c.code) << c.name;
    EXPECT_EQ(ConnectHttpStatus(c.code), c.http) << c.name;
  }
  EXPECT_EQ(ConnectCodeFromName("teapot"), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(ConnectErrorJson(grpc::Status(grpc::StatusCode::NOT_FOUND, "no \"such\" channel\n")),
            R"({"code":"not_found","message":"no \"such\" channel\n"})");
  EXPECT_EQ(ConnectErrorJson(grpc::Status(grpc::StatusCode::INTERNAL, "")),
            R"({"code":"internal"})");
}

TEST(EnvelopeTest, FramesMessagesAndTheEndOfAStream) {
  std::string framed = Envelope(0, "{}");
  EXPECT_EQ(framed, std::string("\0\0\0\0\x02{}", 7));
  auto parsed = ParseEnvelope(framed, 100);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->flags, 0);
  EXPECT_EQ(parsed->payload, "{}");
  EXPECT_EQ(ParseEnvelope(framed.substr(0, 6), 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseEnvelope(Envelope(0, std::string(300, 'x')), 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EndStreamJson(grpc::Status::OK), "{}");
  EXPECT_EQ(EndStreamJson(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "slow")),
            R"({"error":{"code":"resource_exhausted","message":"slow"}})");
  EXPECT_EQ(static_cast<uint8_t>(Envelope(kEndStreamFlag, "{}")[0]), kEndStreamFlag);
}

TEST(ConnectTimeoutTest, IsMillisecondsOfOneToTenDigits) {
  EXPECT_FALSE(ParseConnectTimeout(std::nullopt)->has_value());
  EXPECT_EQ(**ParseConnectTimeout("1500"), absl::Milliseconds(1500));
  for (const char* bad : {"", "-1", "1.5", "12345678901", "10s"}) {
    EXPECT_EQ(ParseConnectTimeout(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace peerwell::gateway
