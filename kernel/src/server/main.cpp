#include "server/MicroTomcatApp.h"

int main(int argc, char** argv)
{
    mt::MicroTomcatApp app;
    return app.run(argc, argv);
}
