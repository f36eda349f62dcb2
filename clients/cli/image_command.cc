#include "clients/cli/image_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/cli/command_table.h"
#include "clients/cli/format.h"
#include "clients/cli/table.h"

namespace clownix::cli {
namespace {

// Machines.ListImages; on failure, the exit code in `exit_code`.
bool ListImages(CommandEnv& env, v1::ListImagesResponse* response, int* exit_code) {
  grpc::ClientContext context;
  env.client().SetDeadline(context);
  grpc::Status status = env.client().machines().ListImages(&context, {}, response);
  if (!status.ok()) *exit_code = env.RpcError(status);
  return status.ok();
}

// The images the server left out, on stderr: the output stays the list.
void PrintProblems(CommandEnv& env, const v1::ListImagesResponse& response) {
  env.out().flush();
  for (const std::string& problem : response.problems()) {
    env.err() << "clownix: image left out: " << problem << "\n";
  }
}

int List(CommandEnv& env, const std::vector<std::string>& args) {
  bool json = false;
  ArgParser parser("clownix image ls [--json]",
                   "Lists the images VMs boot ('clownix vm add NAME --image IMAGE'): the default\n"
                   "one (*), the size of its file, the memory a VM gets by default and the least\n"
                   "it may have. Images left out as broken are named on stderr.");
  parser.AddBool("json", "print the ListImagesResponse as JSON", &json);
  if (int code = ParseOrExit(env, "image ls", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(0, 0, "no arguments"); !usage.ok()) {
    return env.UsageError("image ls", usage);
  }
  v1::ListImagesResponse response;
  if (int code; !ListImages(env, &response, &code)) return code;
  if (json) {
    env.out() << ToJson(response, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  Table table({"NAME", "DEFAULT", "SIZE", "MEM", "DESCRIPTION"});
  for (const v1::Image& image : response.images()) {
    table.AddRow({image.name(), image.is_default() ? "*" : "", BytesText(image.size_bytes()),
                  ImageMemText(image), image.description()});
  }
  table.Print(env.out());
  PrintProblems(env, response);
  return kExitOk;
}

int Show(CommandEnv& env, const std::vector<std::string>& args) {
  bool json = false;
  ArgParser parser("clownix image show NAME [--json]",
                   "Shows one image: its file, memory, recipe and what it contains.");
  parser.AddBool("json", "print the Image as JSON", &json);
  if (int code = ParseOrExit(env, "image show", parser, args); code >= 0) return code;
  if (absl::Status usage = parser.ExpectPositionals(1, 1, "NAME"); !usage.ok()) {
    return env.UsageError("image show", usage);
  }
  const std::string& name = parser.positionals()[0];
  v1::ListImagesResponse response;
  if (int code; !ListImages(env, &response, &code)) return code;
  const v1::Image* found = nullptr;
  std::vector<std::string> names;
  for (const v1::Image& image : response.images()) {
    names.push_back(image.name());
    if (image.name() == name) found = &image;
  }
  if (found == nullptr) {
    PrintProblems(env, response);
    return env.Error(absl::NotFoundError(absl::StrCat(
        "image \"", name, "\" does not exist; ",
        names.empty() ? "there are no images"
                      : absl::StrCat("the images are: ", absl::StrJoin(names, ", ")))));
  }
  if (json) {
    env.out() << ToJson(*found, /*pretty=*/true) << "\n";
    return kExitOk;
  }
  const v1::Image& image = *found;
  env.out() << "name:        " << image.name() << (image.is_default() ? " (the default)" : "")
            << "\n"
            << "description: " << image.description() << "\n"
            << "file:        " << image.root_fs() << "\n"
            << "size:        " << BytesText(image.size_bytes()) << " ("
            << BytesText(image.allocated_bytes()) << " on disk)\n"
            << "memory:      " << image.default_mem_mib() << " MiB by default, at least "
            << image.min_mem_mib() << " MiB\n"
            << "recipe:      " << (image.recipe_hash().empty() ? "-" : image.recipe_hash()) << "\n";
  if (image.build_seconds() > 0) env.out() << "built in:    " << image.build_seconds() << " s\n";
  env.out() << "contents:    " << image.contents_size() << "\n";
  for (const std::string& item : image.contents()) env.out() << "  " << item << "\n";
  return kExitOk;
}

constexpr Command kImageCommands[] = {
    {"ls", "[--json]", "list the images VMs boot", List},
    {"show", "NAME [--json]", "show one image and what it contains", Show},
};

}  // namespace

int RunImageCommand(CommandEnv& env, const std::vector<std::string>& args) {
  return RunCommandTable(env, "image", "The images VMs boot (Vm.image).", kImageCommands, args);
}

}  // namespace clownix::cli
