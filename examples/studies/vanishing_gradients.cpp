// placeholder
#include "cli.hpp"
namespace studies {
int vanishing_gradients_main(const std::vector<std::string>&) { return 1; }
}
