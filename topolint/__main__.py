from topolint.cli import main

main()
