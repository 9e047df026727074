/* Stand-in for ESP-IDF's startup (tests only): calls app_main() once. */
void app_main(void);

int main(void) {
    app_main();
    return 0;
}
