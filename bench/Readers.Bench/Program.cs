System.Console.WriteLine("readers bench");
