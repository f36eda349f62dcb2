#include "server/mutation_rules.h"

#include <map>

#include "absl/strings/str_join.h"
#include "common/seed_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace clownix::server {
namespace {

using clownix::v1::Change;

class MutationRulesTest : public testing::Test {
 protected:
  // Computes and, on success, applies like the store does.
  absl::StatusOr<std::vector<Change>> Do(const Mutation& m) {
    auto changes = ComputeChanges(state_, m, options_);
    if (changes.ok() && !changes->empty()) {
      clownix::v1::Event event;
      event.set_revision(state_.revision() + 1);
      for (const auto& c : *changes) *event.add_changes() = c;
      state_.Apply(event);
    }
    return changes;
  }
  absl::StatusCode Code(const Mutation& m) { return Do(m).status().code(); }

  static Mutation Vm(const std::string& name, uint32_t nics = 3, uint32_t mem = 0) {
    Mutation m;
    m.mutable_create_vm()->mutable_vm()->set_name(name);
    m.mutable_create_vm()->mutable_vm()->set_nic_count(nics);
    m.mutable_create_vm()->mutable_vm()->set_mem_mib(mem);
    return m;
  }
  static Mutation Lan(const std::string& name) {
    Mutation m;
    m.mutable_create_lan()->mutable_lan()->set_name(name);
    return m;
  }
  static Mutation Tap(const std::string& name) {
    Mutation m;
    m.mutable_create_tap()->mutable_tap()->set_name(name);
    return m;
  }
  static Mutation Connect(const std::string& vm, uint32_t nic, const std::string& lan) {
    Mutation m;
    m.mutable_connect()->mutable_endpoint()->mutable_nic()->set_vm(vm);
    m.mutable_connect()->mutable_endpoint()->mutable_nic()->set_index(nic);
    m.mutable_connect()->set_lan(lan);
    return m;
  }
  static Mutation DeleteLan(const std::string& name) {
    Mutation m;
    m.mutable_delete_lan()->set_name(name);
    return m;
  }

  TopologyState state_;
  RuleOptions options_{std::make_pair(uint8_t{10}, uint8_t{1})};
};

TEST_F(MutationRulesTest, CreateVmAssignsNumberMacsAndAdminIp) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  auto changes = Do(Vm("b", 2, 128));
  ASSERT_TRUE(changes.ok());
  const auto& vm = (*changes)[0].vm();
  EXPECT_EQ(vm.number(), 2u);
  EXPECT_EQ(vm.mem_mib(), 128u);
  EXPECT_EQ(vm.state(), clownix::v1::VM_STATE_DEFINED);
  EXPECT_EQ(vm.admin_ip(), "10.1.0.2");
  ASSERT_EQ(vm.nics_size(), 2);
  EXPECT_EQ(vm.nics(1).mac(), "02:00:00:02:00:01");
  EXPECT_EQ(state_.FindVm("a")->mem_mib(), common::kDefaultMemMib);
}

TEST_F(MutationRulesTest, FreedNumbersAreReusedSmallestFirst) {
  for (const char* n : {"a", "b", "c"}) ASSERT_TRUE(Do(Vm(n)).ok());
  Mutation del;
  del.mutable_delete_vm()->set_name("b");
  ASSERT_TRUE(Do(del).ok());
  auto changes = Do(Vm("d"));
  EXPECT_EQ((*changes)[0].vm().number(), 2u);
  EXPECT_EQ((*Do(Vm("e")))[0].vm().number(), 4u);
}

TEST_F(MutationRulesTest, BadValuesAreInvalidArgument) {
  EXPECT_EQ(Code(Vm("Bad")), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Vm("a", 9)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Vm("a", 1, 32)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Vm("a", 1, 9000)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Code(Tap("tap-name-too-long")), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.revision(), 0u);
  EXPECT_TRUE(state_.vms().empty());
}

TEST_F(MutationRulesTest, DuplicatesAlreadyExist) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  ASSERT_TRUE(Do(Lan("l")).ok());
  ASSERT_TRUE(Do(Tap("t")).ok());
  EXPECT_EQ(Code(Vm("a")), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Code(Lan("l")), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Code(Tap("t")), absl::StatusCode::kAlreadyExists);
}

TEST_F(MutationRulesTest, ConnectChecksEverything) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  ASSERT_TRUE(Do(Lan("l")).ok());
  EXPECT_EQ(Code(Connect("x", 1, "l")), absl::StatusCode::kNotFound);
  EXPECT_EQ(Code(Connect("a", 1, "nolan")), absl::StatusCode::kNotFound);
  EXPECT_EQ(Code(Connect("a", 0, "l")), absl::StatusCode::kInvalidArgument);  // the admin NIC
  auto no_nic = Do(Connect("a", 3, "l"));
  EXPECT_EQ(no_nic.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(no_nic.status().message().find("has no eth3"), std::string::npos);
  ASSERT_TRUE(Do(Connect("a", 1, "l")).ok());
  EXPECT_EQ(state_.FindVm("a")->nics(1).lan(), "l");
  EXPECT_EQ(Code(Connect("a", 1, "l")), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MutationRulesTest, LanInUseCannotBeDeleted) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  ASSERT_TRUE(Do(Lan("l")).ok());
  ASSERT_TRUE(Do(Connect("a", 2, "l")).ok());
  auto refused = Do(DeleteLan("l"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("a/eth2"), std::string::npos);
  Mutation disconnect;
  disconnect.mutable_disconnect()->mutable_endpoint()->mutable_nic()->set_vm("a");
  disconnect.mutable_disconnect()->mutable_endpoint()->mutable_nic()->set_index(2);
  ASSERT_TRUE(Do(disconnect).ok());
  EXPECT_EQ(state_.FindVm("a")->nics(2).lan(), "");
  EXPECT_EQ(Code(disconnect), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Do(DeleteLan("l")).ok());
}

TEST_F(MutationRulesTest, DeletingAVmOrTapRemovesItsLinksFirst) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  ASSERT_TRUE(Do(Tap("t")).ok());
  ASSERT_TRUE(Do(Lan("l")).ok());
  ASSERT_TRUE(Do(Connect("a", 1, "l")).ok());
  Mutation tap_connect;
  tap_connect.mutable_connect()->mutable_endpoint()->set_tap("t");
  tap_connect.mutable_connect()->set_lan("l");
  ASSERT_TRUE(Do(tap_connect).ok());
  EXPECT_EQ(state_.FindTap("t")->lan(), "l");
  EXPECT_EQ(state_.LinksOnLan("l").size(), 2u);

  Mutation del;
  del.mutable_delete_vm()->set_name("a");
  auto changes = Do(del);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_TRUE((*changes)[0].has_link());
  EXPECT_EQ((*changes)[0].type(), Change::DELETED);
  EXPECT_TRUE((*changes)[1].has_vm());
  Mutation del_tap;
  del_tap.mutable_delete_tap()->set_name("t");
  ASSERT_TRUE(Do(del_tap).ok());
  EXPECT_TRUE(state_.LinksOnLan("l").empty());
  EXPECT_TRUE(Do(DeleteLan("l")).ok());
}

TEST_F(MutationRulesTest, UpdatesRespectState) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  ASSERT_TRUE(Do(Lan("l")).ok());
  ASSERT_TRUE(Do(Connect("a", 2, "l")).ok());
  Mutation update;
  *update.mutable_update_vm() = *state_.FindVm("a");
  update.mutable_update_vm()->set_nic_count(2);
  EXPECT_EQ(Code(update), absl::StatusCode::kFailedPrecondition);  // eth2 is connected
  update.mutable_update_vm()->set_nic_count(5);
  (*update.mutable_update_vm()->mutable_labels())["role"] = "router";
  ASSERT_TRUE(Do(update).ok());
  EXPECT_EQ(state_.FindVm("a")->nics_size(), 5);
  EXPECT_EQ(state_.FindVm("a")->nics(4).mac(), "02:00:00:01:00:04");
  // The same spec again changes nothing and takes no revision.
  uint64_t revision = state_.revision();
  auto same = Do(update);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());
  EXPECT_EQ(state_.revision(), revision);

  Mutation running;
  running.mutable_vm_status()->set_name("a");
  running.mutable_vm_status()->set_state(clownix::v1::VM_STATE_RUNNING);
  ASSERT_TRUE(Do(running).ok());
  update.mutable_update_vm()->set_mem_mib(256);
  EXPECT_EQ(Code(update), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MutationRulesTest, GuestConfigIsCheckedAndNamesTheField) {
  Mutation create = Vm("r1", 3);
  clownix::v1::GuestConfig* guest = create.mutable_create_vm()->mutable_vm()->mutable_guest();
  clownix::v1::GuestFile* file = guest->add_files();
  file->set_path("/etc/frr/frr.conf");
  file->set_text("router ospf\n");
  file->set_mode("0640");
  (*guest->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  clownix::v1::NicAddress* address = guest->add_addresses();
  address->set_nic(1);
  address->set_cidr("10.0.1.1/24");
  guest->set_startup("systemctl start frr\n");

  Mutation bad = create;
  bad.mutable_create_vm()->mutable_vm()->mutable_guest()->mutable_files(0)->set_mode("rw");
  absl::StatusOr<std::vector<Change>> refused = Do(bad);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              testing::HasSubstr("vm \"r1\": guest.files[0].mode: \"rw\" is not an octal"));
  bad = create;
  bad.mutable_create_vm()->mutable_vm()->mutable_guest()->mutable_addresses(0)->set_nic(3);
  EXPECT_THAT(std::string(Do(bad).status().message()),
              testing::HasSubstr("guest.addresses[0].nic: the VM has no eth3"));
  EXPECT_EQ(state_.FindVm("r1"), nullptr);  // nothing half made

  ASSERT_TRUE(Do(create).ok());
  const clownix::v1::Vm* vm = state_.FindVm("r1");
  EXPECT_EQ(vm->guest().files(0).mode(), "0640");
  EXPECT_EQ(vm->startup().state(), clownix::v1::StartupStatus::STATE_PENDING);

  // An update gives the whole of it, also while the VM runs (it applies at the next boot).
  Mutation running;
  running.mutable_vm_status()->set_name("r1");
  running.mutable_vm_status()->set_state(clownix::v1::VM_STATE_RUNNING);
  ASSERT_TRUE(Do(running).ok());
  Mutation update;
  *update.mutable_update_vm() = *state_.FindVm("r1");
  update.mutable_update_vm()->mutable_guest()->clear_files();
  ASSERT_TRUE(Do(update).ok());
  EXPECT_EQ(state_.FindVm("r1")->guest().files_size(), 0);
  EXPECT_EQ(state_.FindVm("r1")->guest().startup(), "systemctl start frr\n");
}

TEST_F(MutationRulesTest, StartupStatusFollowsTheBoots) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  Mutation done;
  done.mutable_vm_status()->set_name("a");
  done.mutable_vm_status()->set_state(clownix::v1::VM_STATE_RUNNING);
  done.mutable_vm_status()->mutable_startup()->set_state(clownix::v1::StartupStatus::STATE_FAILED);
  done.mutable_vm_status()->mutable_startup()->set_exit_code(2);
  done.mutable_vm_status()->mutable_startup()->set_output("no such file");
  ASSERT_TRUE(Do(done).ok());
  EXPECT_EQ(state_.FindVm("a")->startup().exit_code(), 2);

  // A crash keeps the last boot's; the next boot starts over.
  Mutation crashed;
  crashed.mutable_vm_status()->set_name("a");
  crashed.mutable_vm_status()->set_state(clownix::v1::VM_STATE_CRASHED);
  ASSERT_TRUE(Do(crashed).ok());
  EXPECT_EQ(state_.FindVm("a")->startup().output(), "no such file");
  Mutation booting;
  booting.mutable_vm_status()->set_name("a");
  booting.mutable_vm_status()->set_state(clownix::v1::VM_STATE_BOOTING);
  ASSERT_TRUE(Do(booting).ok());
  EXPECT_EQ(state_.FindVm("a")->startup().state(), clownix::v1::StartupStatus::STATE_PENDING);
  EXPECT_EQ(state_.FindVm("a")->startup().output(), "");
}

TEST_F(MutationRulesTest, AdminNetworkFollowsTheSpecElseTheServerDefault) {
  auto with = Do(Vm("a"));
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE((*with)[0].vm().has_admin());
  EXPECT_TRUE((*with)[0].vm().admin());
  EXPECT_EQ((*with)[0].vm().admin_ip(), "10.1.0.1");

  Mutation without = Vm("b");
  without.mutable_create_vm()->mutable_vm()->set_admin(false);
  auto created = Do(without);
  ASSERT_TRUE(created.ok());
  const clownix::v1::Vm& b = (*created)[0].vm();
  EXPECT_TRUE(b.has_admin());
  EXPECT_FALSE(b.admin());
  EXPECT_EQ(b.admin_ip(), "");
  // The numbering stays: eth1.. are lab NICs with the seed's MACs, and so is eth0 now.
  ASSERT_EQ(b.nics_size(), 3);
  EXPECT_EQ(b.nics(1).mac(), "02:00:00:02:00:01");
  ASSERT_TRUE(Do(Lan("l")).ok());
  EXPECT_TRUE(Do(Connect("b", 0, "l")).ok());
  EXPECT_TRUE(Do(Connect("b", 1, "l")).ok());

  options_.admin_default = false;
  auto by_default = Do(Vm("c"));
  ASSERT_TRUE(by_default.ok());
  EXPECT_FALSE((*by_default)[0].vm().admin());
  EXPECT_EQ((*by_default)[0].vm().admin_ip(), "");
  Mutation asked = Vm("d");
  asked.mutable_create_vm()->mutable_vm()->set_admin(true);
  auto explicit_admin = Do(asked);
  ASSERT_TRUE(explicit_admin.ok());
  EXPECT_TRUE((*explicit_admin)[0].vm().admin());
  EXPECT_EQ((*explicit_admin)[0].vm().admin_ip(), "10.1.0.4");
}

TEST_F(MutationRulesTest, AdminChangesOnlyWhileTheVmDoesNotRun) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  Mutation update;
  *update.mutable_update_vm() = *state_.FindVm("a");
  update.mutable_update_vm()->clear_admin();  // absent: unchanged, whatever the default
  options_.admin_default = false;
  auto same = Do(update);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());

  update.mutable_update_vm()->set_admin(false);
  ASSERT_TRUE(Do(update).ok());
  EXPECT_FALSE(state_.FindVm("a")->admin());
  EXPECT_EQ(state_.FindVm("a")->admin_ip(), "");

  Mutation running;
  running.mutable_vm_status()->set_name("a");
  running.mutable_vm_status()->set_state(clownix::v1::VM_STATE_RUNNING);
  ASSERT_TRUE(Do(running).ok());
  update.mutable_update_vm()->set_admin(true);
  auto refused = Do(update);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("admin"), std::string::npos);
  update.mutable_update_vm()->clear_admin();
  (*update.mutable_update_vm()->mutable_labels())["role"] = "host";
  ASSERT_TRUE(Do(update).ok());  // labels change on a running VM; admin stays off
  EXPECT_FALSE(state_.FindVm("a")->admin());

  Mutation stopped = running;
  stopped.mutable_vm_status()->set_state(clownix::v1::VM_STATE_STOPPED);
  ASSERT_TRUE(Do(stopped).ok());
  update.mutable_update_vm()->set_admin(true);
  ASSERT_TRUE(Do(update).ok());
  EXPECT_TRUE(state_.FindVm("a")->admin());
  EXPECT_EQ(state_.FindVm("a")->admin_ip(), "10.1.0.1");
}

TEST_F(MutationRulesTest, WithoutTheAdminNetworkEth0IsALabNic) {
  Mutation lab = Vm("r1");
  lab.mutable_create_vm()->mutable_vm()->set_admin(false);
  ASSERT_TRUE(Do(lab).ok());
  ASSERT_TRUE(Do(Vm("a")).ok());
  ASSERT_TRUE(Do(Lan("l")).ok());
  ASSERT_TRUE(Do(Connect("r1", 0, "l")).ok());
  EXPECT_EQ(state_.FindVm("r1")->nics(0).lan(), "l");
  auto admin_eth0 = Do(Connect("a", 0, "l"));
  EXPECT_EQ(admin_eth0.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(admin_eth0.status().message().find("eth0 is the admin NIC"), std::string::npos);
  // Giving r1 the admin network back needs its eth0 free.
  Mutation update;
  *update.mutable_update_vm() = *state_.FindVm("r1");
  update.mutable_update_vm()->set_admin(true);
  auto refused = Do(update);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("eth0 is connected to lan \"l\""), std::string::npos)
      << refused.status();
  EXPECT_FALSE(state_.FindVm("r1")->admin());
}

TEST_F(MutationRulesTest, ChosenMacsAreCheckedUniqueAndShownOnTheNics) {
  Mutation r1 = Vm("r1");
  (*r1.mutable_create_vm()->mutable_vm()->mutable_nic_macs())[1] = "02:42:0A:00:00:01";
  ASSERT_TRUE(Do(r1).ok());
  const v1::Vm* vm = state_.FindVm("r1");
  EXPECT_EQ(vm->nics(1).mac(), "02:42:0a:00:00:01");
  EXPECT_EQ(vm->nic_macs().at(1), "02:42:0a:00:00:01");
  EXPECT_EQ(vm->nics(2).mac(), common::VmMac(static_cast<int>(vm->number()), 2).value());

  struct Case {
    uint32_t index;
    const char* mac;
    const char* message;
  } cases[] = {
      {1, "02:42:0a:00:00:01",
       "vm \"r2\": nic_macs[1]: 02:42:0a:00:00:01 is the MAC of vm "
       "\"r1\"'s eth1"},
      {3, "02:42:0a:00:00:09", "vm \"r2\": nic_macs[3]: the VM has 3 NICs (eth0-eth2)"},
      {1, "01:00:5e:00:00:01", "vm \"r2\": nic_macs[1]: MAC \"01:00:5e:00:00:01\" is a multicast"},
      {1, "02:00:00:01:00:01", "seed's MACs"},
  };
  for (const Case& c : cases) {
    Mutation r2 = Vm("r2");
    (*r2.mutable_create_vm()->mutable_vm()->mutable_nic_macs())[c.index] = c.mac;
    auto refused = Do(r2);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << c.mac;
    EXPECT_NE(refused.status().message().find(c.message), std::string::npos) << refused.status();
    EXPECT_EQ(state_.FindVm("r2"), nullptr);
  }
  Mutation twice = Vm("r2");
  (*twice.mutable_create_vm()->mutable_vm()->mutable_nic_macs())[0] = "02:42:0a:00:00:05";
  (*twice.mutable_create_vm()->mutable_vm()->mutable_nic_macs())[2] = "02:42:0a:00:00:05";
  EXPECT_NE(Do(twice).status().message().find("nic_macs[2]: 02:42:0a:00:00:05 is eth0's MAC too"),
            std::string::npos);

  // They change only while the VM does not run; the same ones in another case are no change.
  Mutation running;
  running.mutable_vm_status()->set_name("r1");
  running.mutable_vm_status()->set_state(clownix::v1::VM_STATE_RUNNING);
  ASSERT_TRUE(Do(running).ok());
  Mutation update;
  *update.mutable_update_vm() = *state_.FindVm("r1");
  (*update.mutable_update_vm()->mutable_nic_macs())[1] = "02:42:0A:00:00:01";
  auto same = Do(update);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->empty());
  update.mutable_update_vm()->clear_nic_macs();
  auto refused = Do(update);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("nic_macs"), std::string::npos);
  running.mutable_vm_status()->set_state(clownix::v1::VM_STATE_STOPPED);
  ASSERT_TRUE(Do(running).ok());
  ASSERT_TRUE(Do(update).ok());
  EXPECT_EQ(state_.FindVm("r1")->nics(1).mac(),
            common::VmMac(static_cast<int>(vm->number()), 1).value());
}

// Images as a catalog gives them: tiny (64 MiB, at least 48) and debian (96, at least 80).
class ImageRulesTest : public MutationRulesTest {
 protected:
  void SetUp() override {
    AddImage("tiny", 64, 48);
    AddImage("debian", 96, 80);
    options_.find_image = [this](const std::string& name) -> absl::StatusOr<clownix::v1::Image> {
      auto it = images_.find(name);
      if (it != images_.end()) return it->second;
      std::vector<std::string> names;
      for (const auto& [existing, image] : images_) names.push_back(existing);
      return absl::NotFoundError(
          "image \"" + name + "\" does not exist; the images are: " + absl::StrJoin(names, ", "));
    };
  }
  void AddImage(const std::string& name, uint32_t default_mem, uint32_t min_mem) {
    clownix::v1::Image& image = images_[name];
    image.set_name(name);
    image.set_default_mem_mib(default_mem);
    image.set_min_mem_mib(min_mem);
  }
  static Mutation VmOn(const std::string& name, const std::string& image, uint32_t mem = 0) {
    Mutation m = Vm(name, 1, mem);
    m.mutable_create_vm()->mutable_vm()->set_image(image);
    return m;
  }
  Mutation Update(const std::string& name) {
    Mutation m;
    *m.mutable_update_vm() = *state_.FindVm(name);
    m.mutable_update_vm()->clear_image();
    m.mutable_update_vm()->set_mem_mib(0);
    return m;
  }
  void SetState(const std::string& name, clownix::v1::VmState state) {
    Mutation m;
    m.mutable_vm_status()->set_name(name);
    m.mutable_vm_status()->set_state(state);
    ASSERT_TRUE(Do(m).ok());
  }

  std::map<std::string, clownix::v1::Image> images_;
};

TEST_F(ImageRulesTest, CreateTakesTheDefaultImageAndItsMemory) {
  auto tiny = Do(Vm("a", 1));
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ((*tiny)[0].vm().image(), "tiny");
  EXPECT_EQ((*tiny)[0].vm().mem_mib(), 64u);
  options_.default_image = "debian";
  auto debian = Do(Vm("b", 1));
  ASSERT_TRUE(debian.ok()) << debian.status();
  EXPECT_EQ((*debian)[0].vm().image(), "debian");
  EXPECT_EQ((*debian)[0].vm().mem_mib(), 96u);
  auto asked = Do(VmOn("c", "tiny", 100));
  ASSERT_TRUE(asked.ok()) << asked.status();
  EXPECT_EQ((*asked)[0].vm().image(), "tiny");
  EXPECT_EQ((*asked)[0].vm().mem_mib(), 100u);
}

TEST_F(ImageRulesTest, UnknownImagesAreNotFoundAndTooLittleMemoryIsInvalid) {
  auto unknown = Do(VmOn("a", "gentoo"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(),
            "vm \"a\": image \"gentoo\" does not exist; the images are: debian, tiny");
  options_.find_image = nullptr;  // without a catalog a bad name is still refused
  EXPECT_EQ(Code(VmOn("a", "../etc")), absl::StatusCode::kInvalidArgument);
  SetUp();

  auto small = Do(VmOn("a", "debian", 64));
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(small.status().message(),
            "vm \"a\": mem_mib 64 is below the 80 MiB that image \"debian\" needs (its "
            "min_mem_mib)");
  EXPECT_TRUE(Do(VmOn("a", "debian", 80)).ok());
}

TEST_F(ImageRulesTest, TheImageChangesOnlyWhileTheVmDoesNotRun) {
  ASSERT_TRUE(Do(Vm("a", 1)).ok());
  // Empty keeps it; so does the same name again.
  auto same = Do(Update("a"));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->empty());

  Mutation to_debian = Update("a");
  to_debian.mutable_update_vm()->set_image("debian");
  auto changed = Do(to_debian);  // DEFINED: allowed; mem 0 is the new image's default
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_EQ(changed->size(), 1u);
  EXPECT_EQ((*changed)[0].type(), Change::UPDATED);
  EXPECT_EQ(state_.FindVm("a")->image(), "debian");
  EXPECT_EQ(state_.FindVm("a")->mem_mib(), 96u);

  Mutation back = Update("a");
  back.mutable_update_vm()->set_image("tiny");
  SetState("a", clownix::v1::VM_STATE_RUNNING);
  auto refused = Do(back);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("image"));
  SetState("a", clownix::v1::VM_STATE_STOPPED);
  ASSERT_TRUE(Do(back).ok());
  EXPECT_EQ(state_.FindVm("a")->image(), "tiny");
  EXPECT_EQ(state_.FindVm("a")->mem_mib(), 64u);

  Mutation unknown = Update("a");
  unknown.mutable_update_vm()->set_image("gentoo");
  EXPECT_EQ(Code(unknown), absl::StatusCode::kNotFound);
  Mutation small = Update("a");
  small.mutable_update_vm()->set_image("debian");
  small.mutable_update_vm()->set_mem_mib(64);
  EXPECT_EQ(Code(small), absl::StatusCode::kInvalidArgument);
}

TEST_F(ImageRulesTest, AVmWhoseImageWentAwayCanStillBeRelabeled) {
  ASSERT_TRUE(Do(VmOn("a", "debian", 128)).ok());
  SetState("a", clownix::v1::VM_STATE_RUNNING);
  images_.erase("debian");
  Mutation relabel = Update("a");
  (*relabel.mutable_update_vm()->mutable_labels())["role"] = "router";
  auto done = Do(relabel);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(state_.FindVm("a")->mem_mib(), 128u);  // its image's default is unknown: kept
  EXPECT_EQ(state_.FindVm("a")->image(), "debian");
}

TEST_F(MutationRulesTest, ImpairmentsNeedALinkAndSaneValues) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  ASSERT_TRUE(Do(Lan("l")).ok());
  Mutation impair;
  auto* req = impair.mutable_set_impairment();
  req->mutable_endpoint()->mutable_nic()->set_vm("a");
  req->mutable_endpoint()->mutable_nic()->set_index(1);
  req->mutable_to_lan()->set_delay_us(1000);
  EXPECT_EQ(Code(impair), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Do(Connect("a", 1, "l")).ok());
  req->mutable_to_lan()->set_loss_percent(101);
  EXPECT_EQ(Code(impair), absl::StatusCode::kInvalidArgument);
  req->mutable_to_lan()->set_loss_percent(5);
  req->mutable_to_lan()->set_jitter_us(2000);
  EXPECT_EQ(Code(impair), absl::StatusCode::kInvalidArgument);
  req->mutable_to_lan()->set_jitter_us(500);
  ASSERT_TRUE(Do(impair).ok());
  EXPECT_EQ(state_.FindLink("a/eth1")->to_lan().delay_us(), 1000u);
}

TEST_F(MutationRulesTest, LinkStatusMirrorsOnTheNic) {
  ASSERT_TRUE(Do(Vm("a")).ok());
  ASSERT_TRUE(Do(Lan("l")).ok());
  ASSERT_TRUE(Do(Connect("a", 1, "l")).ok());
  Mutation up;
  up.mutable_link_status()->mutable_endpoint()->mutable_nic()->set_vm("a");
  up.mutable_link_status()->mutable_endpoint()->mutable_nic()->set_index(1);
  up.mutable_link_status()->set_up(true);
  ASSERT_TRUE(Do(up).ok());
  EXPECT_TRUE(state_.FindLink("a/eth1")->up());
  EXPECT_TRUE(state_.FindVm("a")->nics(1).link_up());
}

}  // namespace
}  // namespace clownix::server
